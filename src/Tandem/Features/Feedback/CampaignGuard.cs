using System.Globalization;
using Tandem.Features.Capture;

namespace Tandem.Features.Feedback;

/// <summary>
/// A campaign guard rule: over the campaign's last <see cref="Window"/> dispositioned leads, the campaign is Flagged when any
/// criterion holds (acceptance below <see cref="MinAcceptance"/>, mean lead rating below <see cref="MinMeanRating"/>, share
/// rejected as student / bad fit at or above <see cref="MaxBadFitShare"/>); a null criterion is off. A flagged campaign is Paused
/// when a criterion still holds <see cref="PauseAfter"/> dispositions later (0 = at once). While paused its new MQLs are captured
/// and scored but held (not routed) until a marketer resumes the campaign; they are routed then.
/// </summary>
public sealed record GuardRule(
    bool Enabled = true,
    int Window = 20,
    decimal? MinAcceptance = 0.40m,
    decimal? MinMeanRating = 2.5m,
    decimal? MaxBadFitShare = 0.30m,
    int PauseAfter = 5)
{
    public static readonly GuardRule Default = new();

    public const int MaxWindow = 500;
    public const int MaxPauseAfter = 1000;

    /// <summary>Field errors for a rule that is malformed or can never fire.</summary>
    public FieldErrors Validate()
    {
        var errors = new FieldErrors();
        if (Window is < 1 or > MaxWindow)
            errors.Add("window", $"Between 1 and {MaxWindow} dispositioned leads.");
        if (MinAcceptance is { } a && a is <= 0 or > 1)
            errors.Add("minAcceptance", "A share above 0 and at most 1 (e.g. 0.4 for 40 %): acceptance can never be below 0.");
        if (MinMeanRating is { } r && r is <= 1 or > 5)
            errors.Add("minMeanRating", "Above 1 and at most 5: ratings go from 1 to 5, so a mean can never be below 1.");
        if (MaxBadFitShare is { } b && b is <= 0 or > 1)
            errors.Add("maxBadFitShare", "A share above 0 and at most 1 (e.g. 0.3 for 30 %): a share can never exceed 1.");
        if (PauseAfter is < 0 or > MaxPauseAfter)
            errors.Add("pauseAfter", $"Between 0 (pause at once) and {MaxPauseAfter}.");
        if (Enabled && MinAcceptance is null && MinMeanRating is null && MaxBadFitShare is null)
            errors.Add("minAcceptance", "An enabled rule needs at least one criterion (acceptance, mean rating or bad-fit share).");
        return errors;
    }
}

/// <summary>One dispositioned lead as the guard sees it.</summary>
public sealed record GuardDisposition(Guid LeadId, bool Accepted, string? Reason, DateTimeOffset At);

/// <summary>The figures over the window and which criteria hold.</summary>
public sealed record GuardFigures(int Dispositions, int Accepted, decimal Acceptance, int Ratings, decimal? MeanRating, int BadFit, decimal BadFitShare,
    IReadOnlyList<string> Fired)
{
    public bool Fires => Fired.Count > 0;
}

public enum GuardAction
{
    None,
    Flag,
    Pause,
    /// <summary>A flagged campaign whose figures recovered goes back to Active.</summary>
    Clear,
}

/// <summary>The pure guard: figures from the last dispositions and ratings, and the action they call for.</summary>
public static class CampaignGuard
{
    /// <summary>Reject reasons that mean "marketing sent the wrong people".</summary>
    public static readonly IReadOnlySet<string> BadFitReasons = new HashSet<string>(StringComparer.Ordinal) { "Student", "BadFit" };

    /// <summary>
    /// Figures over <paramref name="lastDispositions"/> (newest first, at most the window) and the lead ratings of those leads.
    /// Nothing fires until the window is full: a campaign is judged on <see cref="GuardRule.Window"/> verdicts, not fewer.
    /// </summary>
    public static GuardFigures Evaluate(GuardRule rule, IReadOnlyList<GuardDisposition> lastDispositions, IReadOnlyList<int> leadRatings)
    {
        var window = lastDispositions.Take(rule.Window).ToList();
        var n = window.Count;
        var accepted = window.Count(d => d.Accepted);
        var badFit = window.Count(d => !d.Accepted && d.Reason is not null && BadFitReasons.Contains(d.Reason));
        var acceptance = n == 0 ? 0 : (decimal)accepted / n;
        var share = n == 0 ? 0 : (decimal)badFit / n;
        decimal? mean = leadRatings.Count == 0 ? null : (decimal)leadRatings.Sum() / leadRatings.Count;
        var fired = new List<string>();
        if (rule.Enabled && n >= rule.Window)
        {
            if (rule.MinAcceptance is { } minA && acceptance < minA)
                fired.Add("acceptance");
            if (rule.MinMeanRating is { } minR && mean is { } m && m < minR)
                fired.Add("rating");
            if (rule.MaxBadFitShare is { } maxB && share >= maxB)
                fired.Add("badFit");
        }
        return new GuardFigures(n, accepted, acceptance, leadRatings.Count, mean, badFit, share, fired);
    }

    /// <summary>
    /// The transition a new disposition calls for: Active → Flagged when a criterion holds; Flagged → Paused when one still holds
    /// <see cref="GuardRule.PauseAfter"/> dispositions after the flag (at once when 0); Flagged → Active when none holds any more.
    /// A paused campaign stays paused until a marketer resumes it.
    /// </summary>
    public static GuardAction Decide(GuardRule rule, Campaigns.CampaignStatus status, GuardFigures figures, int dispositionsSinceFlag) => status switch
    {
        Campaigns.CampaignStatus.Paused or Campaigns.CampaignStatus.Ended or Campaigns.CampaignStatus.Draft => GuardAction.None,
        Campaigns.CampaignStatus.Flagged when !figures.Fires => GuardAction.Clear,
        Campaigns.CampaignStatus.Flagged when dispositionsSinceFlag >= rule.PauseAfter => GuardAction.Pause,
        Campaigns.CampaignStatus.Flagged => GuardAction.None,
        _ when figures.Fires => rule.PauseAfter == 0 ? GuardAction.Pause : GuardAction.Flag,
        _ => GuardAction.None,
    };

    /// <summary>The decision in words with the figures and the rule (English: stored in the audit trail and the banner's details).</summary>
    public static string Describe(GuardRule rule, GuardFigures f)
    {
        var c = CultureInfo.InvariantCulture;
        var parts = new List<string>
        {
            string.Create(c, $"last {f.Dispositions} dispositioned leads: acceptance {f.Acceptance:P0} ({f.Accepted}/{f.Dispositions})"),
            f.MeanRating is { } m ? string.Create(c, $"mean lead rating {m:0.00} over {f.Ratings} ratings") : "no lead rating yet",
            string.Create(c, $"rejected as student / bad fit {f.BadFitShare:P0} ({f.BadFit})"),
        };
        var rules = new List<string>();
        if (rule.MinAcceptance is { } a) rules.Add(string.Create(c, $"acceptance < {a:P0}"));
        if (rule.MinMeanRating is { } r) rules.Add(string.Create(c, $"mean rating < {r:0.0#}"));
        if (rule.MaxBadFitShare is { } b) rules.Add(string.Create(c, $"student / bad fit ≥ {b:P0}"));
        return string.Join("; ", parts) + string.Create(c, $". Rule over {rule.Window} leads: {string.Join(" or ", rules)}; fired: {(f.Fires ? string.Join(", ", f.Fired) : "none")}.");
    }
}
