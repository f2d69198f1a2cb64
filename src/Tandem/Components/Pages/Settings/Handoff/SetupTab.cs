using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using MudBlazor;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;

namespace Tandem.Components.Pages.Settings.Handoff;

/// <summary>
/// What every tab of the handoff settings shares: one DI scope per operation (a Blazor circuit outlives a unit of
/// work), the signed-in actor, and the field errors returned by <see cref="HandoffSetup"/> shown next to their inputs.
/// </summary>
public abstract class SetupTab : ComponentBase
{
    [Inject]
    protected IServiceScopeFactory Scopes { get; set; } = default!;

    [Inject]
    protected AuthenticationStateProvider Auth { get; set; } = default!;

    protected Dictionary<string, string[]> Errors { get; set; } = [];

    protected string? Message { get; set; }

    protected Severity MessageSeverity { get; set; } = Severity.Success;

    protected async Task<T> UseAsync<T>(Func<HandoffSetup, Task<T>> operation)
    {
        await using var scope = Scopes.CreateAsyncScope();
        return await operation(scope.ServiceProvider.GetRequiredService<HandoffSetup>());
    }

    protected async Task<string> ActorAsync() => Actor.From((await Auth.GetAuthenticationStateAsync()).User).Name;

    protected bool Has(string key) => Errors.ContainsKey(key);

    protected string? Err(string key) => Errors.TryGetValue(key, out var m) ? string.Join(" ", m) : null;

    /// <summary>Every error at or under a path (a rule, a condition), for a line of text below that block.</summary>
    protected string? ErrUnder(string prefix)
    {
        var messages = Errors.Where(e => e.Key == prefix || e.Key.StartsWith(prefix + ".", StringComparison.Ordinal) || e.Key.StartsWith(prefix + "[", StringComparison.Ordinal))
            .SelectMany(e => e.Value).ToList();
        return messages.Count == 0 ? null : string.Join(" ", messages);
    }

    protected void Show(string message, Severity severity = Severity.Success) => (Message, MessageSeverity) = (message, severity);

    /// <summary>Minutes as people read them: 42 min, 3.5 h, 2.1 d.</summary>
    public static string Minutes(double? minutes) => minutes switch
    {
        null => "—",
        < 120 => $"{minutes.Value:0.#} min",
        < 48 * 60 => $"{minutes.Value / 60:0.#} h",
        _ => $"{minutes.Value / 1440:0.#} d",
    };
}
