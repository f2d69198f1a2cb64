using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Feedback;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.OutboundWebhooks;

namespace Tandem.Features.Demo;

/// <summary>What the feedback-loop story left behind, for the seeder's output and its test.</summary>
public sealed record DemoFeedbackSummary(Guid CampaignId, CampaignStatus Status, int Rejected, int Accepted, int Ratings, int Disputes, int WebhookDeliveries);

/// <summary>
/// The feedback loop's story, played through the real code paths after the history is committed: an Instagram campaign sends
/// students who slipped past the form (no job title asked); over three weeks the reps reject them as students and rate them low,
/// the campaign guard flags it when its window of 20 verdicts is full and pauses it five verdicts later (decisions, figures,
/// notifications and <c>campaign.flagged</c> / <c>campaign.paused</c> webhooks included). Marketing contests one rejection (a sales
/// manager upholds it) and a rep contests one MQL (marketing overturns it). The webhooks the story produced go to a host that does
/// not exist, so they are recorded as failed (the seed makes no network call) and can be redelivered from the log.
/// </summary>
internal static class DemoFeedback
{
    public const string CampaignName = "Instagram Ads — Campus offer";
    public const int Verdicts = 26;

    private static readonly string[] FirstNames = ["Léa", "Hugo", "Chloé", "Lucas", "Manon", "Nathan", "Camille", "Enzo", "Sarah", "Louis", "Inès", "Théo", "Jade",
        "Maxime", "Zoé", "Antoine", "Lina", "Paul", "Emma", "Arthur", "Clara", "Jules", "Alice", "Tom", "Eva", "Noah", "Julia", "Adam"];

    private static readonly string[] Schools = ["ESSEC", "HEC Paris", "Université Paris-Dauphine", "ESCP", "NEOMA", "Sciences Po", "Université de Lille"];

    public static async Task<DemoFeedbackSummary> SeedAsync(IServiceProvider services, DemoUsers users, DemoTeams teams, DateTimeOffset now, CancellationToken ct)
    {
        await using var scope = services.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        var db = sp.GetRequiredService<TandemDb>();
        var handoff = sp.GetRequiredService<HandoffService>();
        var feedback = sp.GetRequiredService<FeedbackService>();
        var disputes = sp.GetRequiredService<DisputeService>();
        var active = sp.GetRequiredService<Qualification.ActiveDefinition>();
        var webhooks = sp.GetRequiredService<IWebhookPublisher>();
        var listeners = sp.GetServices<IDispositionListener>().ToList();
        var random = new Random(DemoSeeder.RandomSeed + 14);

        var campaign = new Campaign
        {
            Name = CampaignName,
            Channel = Channel.PaidSocial,
            Status = CampaignStatus.Active,
            StartsOn = DateOnly.FromDateTime(now.AddDays(-24).UtcDateTime),
            EndsOn = DateOnly.FromDateTime(now.AddDays(36).UtcDateTime),
            Budget = 6_000m,
            Currency = "EUR",
            OwnerId = users.MarketerId,
            UtmCampaign = "ig_campus_offer",
            CreatedAt = now.AddDays(-25),
        };
        db.Campaigns.Add(campaign);

        var reps = users.Reps.Where(r => teams.Of(r) == teams.FranceId).ToList();
        var names = await db.Users.AsNoTracking().Where(u => u.Id == users.MarketerId || u.Id == users.ManagerId || reps.Select(r => r.Id).Contains(u.Id))
            .ToDictionaryAsync(u => u.Id, u => string.IsNullOrWhiteSpace(u.DisplayName) ? u.Email ?? "" : u.DisplayName, ct);
        // 26 verdicts over three weeks and two MQLs still waiting (one of which a rep contests).
        var leads = new List<(Lead Lead, DemoRep Rep, DateTimeOffset MqlAt)>();
        for (var i = 0; i < Verdicts + 2; i++)
        {
            var mqlAt = now.AddDays(-22 + i * 0.75).AddMinutes(random.Next(0, 240));
            var first = FirstNames[i % FirstNames.Length];
            var last = (i % 3) switch { 0 => "Martin", 1 => "Bernard", _ => "Dubois" } + (i / 3 > 0 ? "-" + (char)('A' + (i / 3)) : "");
            var rep = reps[i % reps.Count];
            var lead = new Lead
            {
                Email = $"{Ascii(first).ToLowerInvariant()}.{Ascii(last).ToLowerInvariant()}{i}@gmail.com",
                FirstName = first,
                LastName = last,
                Company = i % 4 == 0 ? null : Schools[i % Schools.Length],
                Country = "FR",
                Stage = LifecycleStage.Mql,
                WorkStatus = WorkStatus.New,
                OwnerId = rep.Id,
                FirstCampaignId = campaign.Id,
                FirstChannel = Channel.PaidSocial,
                FirstTouchAt = mqlAt.AddMinutes(-3),
                FirstSource = "instagram",
                FirstMedium = "paid_social",
                CreatedAt = mqlAt.AddMinutes(-3),
                UpdatedAt = mqlAt,
                StageChangedAt = mqlAt,
            };
            db.Leads.Add(lead);
            db.StageTransitions.Add(new StageTransition { LeadId = lead.Id, From = null, To = LifecycleStage.Lead, At = lead.CreatedAt, ByRule = "capture" });
            db.StageTransitions.Add(new StageTransition { LeadId = lead.Id, From = LifecycleStage.Lead, To = LifecycleStage.Mql, At = mqlAt, ByRule = DemoSeeder.MqlRule });
            db.Activities.Add(new Activity
            {
                LeadId = lead.Id,
                Type = ActivityType.FormSubmission,
                OccurredAt = lead.CreatedAt,
                Source = "instagram",
                UtmSource = "instagram",
                UtmMedium = "paid_social",
                UtmCampaign = campaign.UtmCampaign,
                CampaignId = campaign.Id,
                Channel = Channel.PaidSocial,
                CreatedAt = lead.CreatedAt,
            });
            db.Assignments.Add(new Assignment
            {
                LeadId = lead.Id,
                RepId = rep.Id,
                TeamId = teams.FranceId,
                Tier = SlaTier.Standard,
                State = AssignmentState.Open,
                MqlAt = mqlAt,
                AssignedAt = mqlAt,
                FirstTouchDueAt = mqlAt.AddHours(4),
                BreachAt = mqlAt.AddHours(4),
                ReassignAt = mqlAt.AddHours(8),
                Attempts = 6,
                AttemptsDueAt = mqlAt.AddDays(10),
                Path = Features.Handoff.Routing.RoutingPath.TeamStrategy,
                Strategy = Features.Handoff.Routing.RoutingStrategy.RoundRobin,
                Reason = $"Inside sales — France & Benelux: RoundRobin picked {rep.Name}.",
            });
            leads.Add((lead, rep, mqlAt));
        }
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();

        // The verdicts, oldest first, each through the rep's own reject/accept and rating paths: the guard judges each one.
        int rejected = 0, accepted = 0, ratings = 0;
        for (var i = 0; i < Verdicts; i++)
        {
            var (lead, rep, mqlAt) = leads[i];
            var actor = new Actor(rep.Id, names.GetValueOrDefault(rep.Id, rep.Name));
            var at = mqlAt.AddHours(2 + random.Next(0, 20));
            if (i % 9 == 4)
            {
                var ok = await Qualification.LeadStages.AcceptAsync(db, active, webhooks, lead.Id,
                    new Qualification.BantInput(true, "Treasury budget approved for next quarter", true, "Signs as the founder", true, "Cash forecasting on spreadsheets today",
                        true, "Wants it before the year-end close"), actor, at, listeners, ct);
                if (ok.Errors is { Count: > 0 } acceptErrors)
                    throw new InvalidOperationException("Demo accept refused: " + string.Join("; ", acceptErrors.SelectMany(e => e.Value)));
                accepted++;
                await RateAsync(db, feedback, lead.Id, new RatingRequest(4, 4, "Founder of a student-run start-up, real need."), actor, at.AddMinutes(5), ct);
                ratings++;
            }
            else
            {
                var reason = i % 5 == 2 ? RejectReason.BadFit : RejectReason.Student;
                var text = reason == RejectReason.Student ? "Master's student, doing a course project on cash forecasting." : "Intern at a 3-person agency, no finance team.";
                var outcome = await LeadWork.RejectAsync(handoff, lead.Id, new RejectRequest(reason, text, null), actor, at, ct);
                if (outcome.Errors is { Count: > 0 } rejectErrors)
                    throw new InvalidOperationException("Demo reject refused: " + string.Join("; ", rejectErrors.SelectMany(e => e.Value)));
                rejected++;
                if (i % 3 != 1)
                {
                    await RateAsync(db, feedback, lead.Id, new RatingRequest(1 + random.Next(0, 2), null,
                        reason == RejectReason.Student ? "A student again: the ad promises a free student plan." : "Not a company we sell to."), actor, at.AddMinutes(2), ct);
                    ratings++;
                }
            }
            db.ChangeTracker.Clear();
        }

        var status = await db.Campaigns.AsNoTracking().Where(c => c.Id == campaign.Id).Select(c => c.Status).SingleAsync(ct);
        if (status != CampaignStatus.Paused)
            throw new InvalidOperationException($"The demo campaign guard left '{CampaignName}' {status}; the story expects it paused.");

        // Disputes both ways, through the real services with each side's identity.
        var marketer = Principal(users.MarketerId, names[users.MarketerId], Roles.Marketing);
        var manager = Principal(users.ManagerId, names[users.ManagerId], Roles.SalesManager);
        var contested = leads.Take(Verdicts).Select(l => l.Lead).First(l => l.Company is null);
        var opened = await disputes.OpenAsync(contested.Id, new DisputeRequest(
            "She wrote from a Gmail address but says she runs the books of her family's bakery chain; please call her once."), marketer, ct);
        Check(opened, "marketing's dispute");
        db.ChangeTracker.Clear();
        Check(await disputes.ResolveAsync(opened.Value!.Id, new ResolveDisputeRequest("Upheld",
            "Called her: she is a second-year student, the bakery has an accountant. The rejection stands."), manager, ct), "the manager's decision");
        db.ChangeTracker.Clear();

        var (waiting, waitingRep, _) = leads[Verdicts];
        var rep0 = Principal(waitingRep.Id, names.GetValueOrDefault(waitingRep.Id, waitingRep.Name), Roles.Sales);
        var salesDispute = await disputes.OpenAsync(waiting.Id, new DisputeRequest(
            "Student society treasurer asking for a free licence; not a buyer. Please take it back."), rep0, ct);
        Check(salesDispute, "sales' dispute");
        db.ChangeTracker.Clear();
        Check(await disputes.ResolveAsync(salesDispute.Value!.Id, new ResolveDisputeRequest("Overturned",
            "Agreed, it is not an MQL: recycled into the student newsletter."), marketer, ct), "marketing's decision");
        db.ChangeTracker.Clear();

        // The flagged and paused events went to the demo endpoint, whose host does not exist: recorded as failed, not attempted.
        var failed = await db.Set<WebhookDelivery>().Where(d => d.Status == WebhookDeliveryStatus.Pending).ExecuteUpdateAsync(s => s
            .SetProperty(d => d.Status, WebhookDeliveryStatus.Failed)
            .SetProperty(d => d.LastError, "Demo data: hooks.tandem-demo.example does not exist. Point the endpoint at your automation tool and redeliver.")
            .SetProperty(d => d.NextAttemptAt, now), ct);
        var disputeCount = await db.Set<Dispute>().CountAsync(d => d.CampaignId == campaign.Id, ct);
        return new DemoFeedbackSummary(campaign.Id, status, rejected, accepted, ratings, disputeCount, failed);
    }

    private static async Task RateAsync(TandemDb db, FeedbackService feedback, Guid lead, RatingRequest body, Actor actor, DateTimeOffset at, CancellationToken ct)
    {
        var outcome = await Ratings.RateAsync(db, feedback, lead, body, actor, at, ct);
        if (outcome.Errors is { Count: > 0 } errors)
            throw new InvalidOperationException("Demo rating refused: " + string.Join("; ", errors.SelectMany(e => e.Value)));
    }

    private static void Check(DisputeOutcome outcome, string what)
    {
        if (outcome.Value is null)
            throw new InvalidOperationException($"The demo {what} was refused: {outcome.Forbidden}"
                + string.Join("; ", outcome.Errors?.SelectMany(e => e.Value) ?? []) + (outcome.NotFound ? " (not found)" : ""));
    }

    private static ClaimsPrincipal Principal(Guid id, string name, string role) => new(new ClaimsIdentity(
        [new Claim(ClaimTypes.NameIdentifier, id.ToString()), new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role)], "Demo"));

    private static string Ascii(string s) => new([.. s.Normalize(System.Text.NormalizationForm.FormD).Where(c => c < 128 && char.IsLetter(c))]);
}
