using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Leads;

namespace Tandem.Features.Feedback;

public enum ScorecardBy
{
    Campaign,
    Channel,
    Source,
    Persona,
    CampaignOwner,
}

/// <summary>
/// One row of the lead-quality scorecard. A cohort: the leads created in the period in this group, and what became of them —
/// MQL, sales' verdict (a lead counts as accepted when it was ever accepted, rejected when it was rejected and never accepted),
/// SQL, and the reps' ratings. Rates are null when their denominator is 0. Disputes: those opened on the group's leads (either side),
/// and those of them overturned.
/// </summary>
public sealed record ScorecardRow(string Key, string Name, int Leads, int Mqls, decimal? MqlRate, int Dispositioned, int Accepted, int Rejected,
    decimal? AcceptanceRate, decimal? MeanLeadRating, int LeadRatings, decimal? MeanMeetingRating, int MeetingRatings, int Sqls, decimal? SqlRate,
    IReadOnlyDictionary<string, int> RejectionReasons, int DisputesOpened = 0, int DisputesOverturned = 0);

public sealed record Scorecard(ScorecardBy By, DateOnly From, DateOnly To, IReadOnlyList<ScorecardRow> Rows);

/// <summary>The lead-quality scorecard, computed in SQL over the leads' milestones (decisions 011, 021) on both providers.</summary>
public static class LeadQualityScorecard
{
    public const string NoneKey = "none";

    public static async Task<Scorecard> ComputeAsync(TandemDb db, ScorecardBy by, DateOnly from, DateOnly to, IReadOnlyCollection<Guid>? campaignIds,
        CancellationToken ct)
    {
        var start = new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var end = new DateTimeOffset(to.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var leads = db.Leads.AsNoTracking().Where(l => l.CreatedAt >= start && l.CreatedAt < end);
        if (campaignIds is { Count: > 0 })
            leads = leads.Where(l => l.FirstCampaignId != null && campaignIds.Contains(l.FirstCampaignId.Value));

        // Only the dimension asked for is read and grouped (campaign owner is grouped by campaign, then folded).
        IQueryable<Dim> dims = by switch
        {
            // Every member assigned (null where unused), so EF can translate the members it reads later.
            ScorecardBy.Channel => leads.Select(l => new Dim { Id = l.Id, Campaign = null, Channel = l.FirstChannel, Source = null, Persona = null }),
            ScorecardBy.Source => leads.Select(l => new Dim { Id = l.Id, Campaign = null, Channel = null, Source = l.FirstSource, Persona = null }),
            ScorecardBy.Persona => leads.Select(l => new Dim { Id = l.Id, Campaign = null, Channel = null, Source = null, Persona = l.PersonaId }),
            _ => leads.Select(l => new Dim { Id = l.Id, Campaign = l.FirstCampaignId, Channel = null, Source = null, Persona = null }),
        };
        // One pass over the period's leads, each with its one narrow trigger-maintained milestone row (decision 021) instead of four
        // probes of its transitions. A lead counts as accepted when it was ever
        // accepted, rejected when it was rejected and never accepted (then under its latest reason).
        var counts = await (from l in dims
                            join m in db.LeadMilestones.AsNoTracking() on l.Id equals m.LeadId into ms
                            from m in ms.DefaultIfEmpty()
                            select new
                            {
                                l.Campaign,
                                l.Channel,
                                l.Source,
                                l.Persona,
                                Mql = m != null && m.MqlAt != null ? 1 : 0,
                                Accepted = m != null && m.AcceptedAt != null ? 1 : 0,
                                RejectedOnly = m != null && m.RejectedAt != null && m.AcceptedAt == null ? 1 : 0,
                                Sql = m != null && m.SqlAt != null ? 1 : 0,
                                Reason = m != null && m.RejectedAt != null && m.AcceptedAt == null ? m.RejectRule : null,
                            })
            .GroupBy(x => new { x.Campaign, x.Channel, x.Source, x.Persona, x.Reason })
            .Select(g => new
            {
                g.Key.Campaign,
                g.Key.Channel,
                g.Key.Source,
                g.Key.Persona,
                ByRule = g.Key.Reason,
                Leads = g.Count(),
                Mqls = g.Sum(x => x.Mql),
                Accepted = g.Sum(x => x.Accepted),
                Rejected = g.Sum(x => x.RejectedOnly),
                Sqls = g.Sum(x => x.Sql),
            }).ToListAsync(ct);

        // Ratings and disputes are few next to leads: read from their side, grouped by the same dimension.
        var ratings = await (from r in db.Set<LeadRating>().AsNoTracking()
                             join l in dims on r.LeadId equals l.Id
                             select new { l.Campaign, l.Channel, l.Source, l.Persona, r.LeadQuality, r.MeetingQuality })
            .GroupBy(x => new { x.Campaign, x.Channel, x.Source, x.Persona })
            .Select(g => new
            {
                g.Key.Campaign,
                g.Key.Channel,
                g.Key.Source,
                g.Key.Persona,
                LeadSum = g.Sum(x => x.LeadQuality),
                LeadN = g.Count(),
                MeetingSum = g.Sum(x => x.MeetingQuality ?? 0),
                MeetingN = g.Count(x => x.MeetingQuality != null),
            }).ToListAsync(ct);
        var disputes = await (from d in db.Set<Dispute>().AsNoTracking()
                              join l in dims on d.LeadId equals l.Id
                              select new { l.Campaign, l.Channel, l.Source, l.Persona, Overturned = d.Status == DisputeStatus.Overturned ? 1 : 0 })
            .GroupBy(x => new { x.Campaign, x.Channel, x.Source, x.Persona })
            .Select(g => new { g.Key.Campaign, g.Key.Channel, g.Key.Source, g.Key.Persona, Opened = g.Count(), Overturned = g.Sum(x => x.Overturned) })
            .ToListAsync(ct);

        var campaigns = await db.Campaigns.AsNoTracking().Select(c => new { c.Id, c.Name, c.OwnerId }).ToDictionaryAsync(c => c.Id, ct);
        var personas = await db.Personas.AsNoTracking().Select(p => new { p.Id, p.Name }).ToDictionaryAsync(p => p.Id, p => p.Name, ct);
        var owners = await db.Users.AsNoTracking().Select(u => new { u.Id, u.DisplayName, u.Email }).ToDictionaryAsync(u => u.Id,
            u => string.IsNullOrWhiteSpace(u.DisplayName) ? u.Email ?? "" : u.DisplayName, ct);

        (string Key, string Name) KeyOf(Guid? campaign, Channel? channel, string? source, Guid? persona) => by switch
        {
            ScorecardBy.Campaign => campaign is { } c ? (c.ToString(), campaigns.TryGetValue(c, out var cn) ? cn.Name : c.ToString()) : (NoneKey, ""),
            ScorecardBy.Channel => channel is { } ch ? (ch.ToString(), ch.ToString()) : (NoneKey, ""),
            ScorecardBy.Source => string.IsNullOrEmpty(source) ? (NoneKey, "") : (source, source),
            ScorecardBy.Persona => persona is { } p ? (p.ToString(), personas.GetValueOrDefault(p, p.ToString())) : (NoneKey, ""),
            _ => campaign is { } oc && campaigns.TryGetValue(oc, out var cc) && cc.OwnerId is { } o ? (o.ToString(), owners.GetValueOrDefault(o, o.ToString())) : (NoneKey, ""),
        };

        var rows = new Dictionary<string, Acc>();
        Acc Row(Guid? campaign, Channel? channel, string? source, Guid? persona)
        {
            var (key, name) = KeyOf(campaign, channel, source, persona);
            if (!rows.TryGetValue(key, out var acc))
                rows[key] = acc = new Acc(key, name);
            return acc;
        }
        foreach (var c in counts)
        {
            var acc = Row(c.Campaign, c.Channel, c.Source, c.Persona);
            acc.Leads += c.Leads;
            acc.Mqls += c.Mqls;
            acc.Accepted += c.Accepted;
            acc.Rejected += c.Rejected;
            acc.Sqls += c.Sqls;
            if (c.ByRule is not null)
            {
                var reason = DispositionRules.RejectReasonOf(c.ByRule) ?? "Other";
                acc.Reasons[reason] = acc.Reasons.GetValueOrDefault(reason) + c.Rejected;
            }
        }
        foreach (var r in ratings)
        {
            var acc = Row(r.Campaign, r.Channel, r.Source, r.Persona);
            acc.LeadSum += r.LeadSum;
            acc.LeadN += r.LeadN;
            acc.MeetingSum += r.MeetingSum;
            acc.MeetingN += r.MeetingN;
        }
        foreach (var d in disputes)
        {
            var acc = Row(d.Campaign, d.Channel, d.Source, d.Persona);
            acc.DisputesOpened += d.Opened;
            acc.DisputesOverturned += d.Overturned;
        }
        return new Scorecard(by, from, to, [.. rows.Values.Select(a => a.ToRow()).OrderByDescending(r => r.Leads).ThenBy(r => r.Name, StringComparer.Ordinal)]);
    }

    /// <summary>A lead and the one dimension grouped on (a class with settable members, so EF can read them back inside a query).</summary>
    private sealed class Dim
    {
        public Guid Id { get; init; }
        public Guid? Campaign { get; init; }
        public Channel? Channel { get; init; }
        public string? Source { get; init; }
        public Guid? Persona { get; init; }
    }

    private sealed class Acc(string key, string name)
    {
        public int Leads, Mqls, Accepted, Rejected, Sqls, LeadSum, LeadN, MeetingSum, MeetingN, DisputesOpened, DisputesOverturned;
        public readonly SortedDictionary<string, int> Reasons = new(StringComparer.Ordinal);

        public ScorecardRow ToRow()
        {
            static decimal? Ratio(int num, int den) => den == 0 ? null : Math.Round((decimal)num / den, 4);
            var dispositioned = Accepted + Rejected;
            return new ScorecardRow(key, name, Leads, Mqls, Ratio(Mqls, Leads), dispositioned, Accepted, Rejected, Ratio(Accepted, dispositioned),
                LeadN == 0 ? null : Math.Round((decimal)LeadSum / LeadN, 2), LeadN, MeetingN == 0 ? null : Math.Round((decimal)MeetingSum / MeetingN, 2), MeetingN,
                Sqls, Ratio(Sqls, Mqls), Reasons, DisputesOpened, DisputesOverturned);
        }
    }

    /// <summary>The scorecard as CSV (invariant culture; text neutralised against formula injection).</summary>
    public static string ToCsv(Scorecard card)
    {
        var sb = new StringBuilder();
        var reasons = card.Rows.SelectMany(r => r.RejectionReasons.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        sb.Append("key,name,leads,mqls,mqlRate,dispositioned,accepted,rejected,acceptanceRate,meanLeadRating,leadRatings,meanMeetingRating,meetingRatings,sqls,sqlRate,disputesOpened,disputesOverturned");
        foreach (var r in reasons)
            sb.Append(",rejected:").Append(r);
        sb.Append('\n');
        static string D(decimal? d) => d?.ToString(CultureInfo.InvariantCulture) ?? "";
        foreach (var row in card.Rows)
        {
            sb.Append(Platform.CsvSafe.Field(row.Key)).Append(',').Append(Platform.CsvSafe.Field(row.Name)).Append(',')
                .Append(string.Join(',', row.Leads, row.Mqls, D(row.MqlRate), row.Dispositioned, row.Accepted, row.Rejected, D(row.AcceptanceRate),
                    D(row.MeanLeadRating), row.LeadRatings, D(row.MeanMeetingRating), row.MeetingRatings, row.Sqls, D(row.SqlRate), row.DisputesOpened, row.DisputesOverturned));
            foreach (var r in reasons)
                sb.Append(',').Append(row.RejectionReasons.GetValueOrDefault(r));
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
