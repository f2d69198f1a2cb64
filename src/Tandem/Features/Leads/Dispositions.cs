using Tandem.Data;

namespace Tandem.Features.Leads;

/// <summary>Sales' verdict on an MQL (glossary: disposition): accepted as SQL, or rejected with a catalogue reason.</summary>
public sealed record Disposition(Guid LeadId, bool Accepted, string? Reason, string? Comment, Guid? ByUserId, DateTimeOffset At);

/// <summary>
/// Told of every disposition in the transaction that records it (after the stage transition is saved, before commit when the
/// caller holds a transaction), so the way back to marketing — notifications, the campaign guard — is never skipped.
/// </summary>
public interface IDispositionListener
{
    Task OnDispositionAsync(TandemDb db, Lead lead, Disposition disposition, CancellationToken ct);
}

/// <summary>How dispositions are recognised in the stage history (the rule names written by accept and reject).</summary>
public static class DispositionRules
{
    public const string Accept = "manual:accept";
    public const string RejectPrefix = "handoff:reject:";

    public static string Reject(string reason) => RejectPrefix + reason;

    /// <summary>The reject reason of a transition's rule, or null when it is not a rejection.</summary>
    public static string? RejectReasonOf(string? rule) => rule is not null && rule.StartsWith(RejectPrefix, StringComparison.Ordinal) ? rule[RejectPrefix.Length..] : null;
}
