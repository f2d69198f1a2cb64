using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Work;

/// <summary>
/// Notes and tasks on leads and accounts, and "My tasks" (decision 021c):
/// <c>/leads/{id}/notes|tasks</c>, <c>/accounts/{id}/notes|tasks</c>, <c>/notes/{id}</c>, <c>/tasks/{id}</c>, <c>/me/tasks</c>.
/// </summary>
public static class WorkApi
{
    /// <summary>Writing notes and tasks: every role by cookie (the record check narrows further); keys with the ingest scope.</summary>
    public const string WritePolicy = "work:write";

    public static IServiceCollection AddWork(this IServiceCollection services)
    {
        services.AddScoped<WorkAccess>();
        services.AddScoped<NotesService>();
        services.AddScoped<TasksService>();
        services.AddScoped<LeadOwnerChange>();
        services.AddAuthorizationBuilder()
            .AddPolicy(WritePolicy, p => p.AddAuthenticationSchemes(AuthSchemes.Api).RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(Scopes.Ingest, [.. Roles.All])));
        return services;
    }

    public static RouteGroupBuilder MapWorkApi(this RouteGroupBuilder api)
    {
        var l = api.MapGroup("/leads").WithTags("Notes and tasks");
        l.MapGet("/{id:guid}/notes", (Guid id, ClaimsPrincipal user, NotesService notes, CancellationToken ct) => ListNotesAsync(new(RecordKind.Lead, id), user, notes, ct))
            .RequireAuthorization(Policies.ScopeRead).RequireLeadAccess(LeadRight.Read).WithSummary("The lead's notes, newest first.");
        l.MapPost("/{id:guid}/notes", (Guid id, NoteRequest body, ClaimsPrincipal user, NotesService notes, CancellationToken ct) => AddNoteAsync(new(RecordKind.Lead, id), body, user, notes, ct))
            .RequireAuthorization(WritePolicy).RequireLeadAccess(LeadRight.Annotate)
            .WithSummary("Add a note (plain text or a little sanitized HTML); @Name mentions (or ids in 'mentions') notify those people in-app.");
        l.MapGet("/{id:guid}/tasks", (Guid id, ClaimsPrincipal user, TasksService tasks, CancellationToken ct) => ListTasksAsync(new(RecordKind.Lead, id), user, tasks, ct))
            .RequireAuthorization(Policies.ScopeRead).RequireLeadAccess(LeadRight.Read).WithSummary("The lead's tasks: open first, by due time.");
        l.MapPost("/{id:guid}/tasks", (Guid id, TaskRequest body, ClaimsPrincipal user, TasksService tasks, CancellationToken ct) => AddTaskAsync(new(RecordKind.Lead, id), body, user, tasks, ct))
            .RequireAuthorization(WritePolicy).RequireLeadAccess(LeadRight.Annotate)
            .WithSummary("Add a task: title, dueAt (not in the past), assigneeId (default: me; managers: their teams' members; admins: anyone).");

        var a = api.MapGroup("/accounts").WithTags("Notes and tasks");
        a.MapGet("/{id:guid}/notes", (Guid id, ClaimsPrincipal user, NotesService notes, CancellationToken ct) => ListNotesAsync(new(RecordKind.Account, id), user, notes, ct))
            .RequireAuthorization(Policies.ScopeRead).WithSummary("The account's notes, newest first.");
        a.MapPost("/{id:guid}/notes", (Guid id, NoteRequest body, ClaimsPrincipal user, NotesService notes, CancellationToken ct) => AddNoteAsync(new(RecordKind.Account, id), body, user, notes, ct))
            .RequireAuthorization(WritePolicy).WithSummary("Add a note to the account (same rules as on a lead).");
        a.MapGet("/{id:guid}/tasks", (Guid id, ClaimsPrincipal user, TasksService tasks, CancellationToken ct) => ListTasksAsync(new(RecordKind.Account, id), user, tasks, ct))
            .RequireAuthorization(Policies.ScopeRead).WithSummary("The account's tasks: open first, by due time.");
        a.MapPost("/{id:guid}/tasks", (Guid id, TaskRequest body, ClaimsPrincipal user, TasksService tasks, CancellationToken ct) => AddTaskAsync(new(RecordKind.Account, id), body, user, tasks, ct))
            .RequireAuthorization(WritePolicy).WithSummary("Add a task to the account (same rules as on a lead).");

        var n = api.MapGroup("/notes").WithTags("Notes and tasks");
        n.MapPatch("/{id:guid}", EditNoteAsync).RequireAuthorization(WritePolicy).WithSummary("Change a note's body (its author or an admin; audited).");
        n.MapDelete("/{id:guid}", DeleteNoteAsync).RequireAuthorization(WritePolicy).WithSummary("Delete a note (its author or an admin; audited).");

        var t = api.MapGroup("/tasks").WithTags("Notes and tasks");
        t.MapPatch("/{id:guid}", UpdateTaskAsync).RequireAuthorization(WritePolicy)
            .WithSummary("Change a task's status (Open, Done), dueAt, title or assigneeId (its assignee, its author, the assignee's manager or an admin).");

        api.MapGet("/me/tasks", MineAsync).RequireAuthorization(Policies.ScopeRead).WithTags("Notes and tasks")
            .WithSummary("My tasks and the next attempt of each cadence I run: overdue first, then due today, then later; includeDone adds the last 7 days' done tasks.");
        return api;
    }

    private static Results<Ok<T>, Created<T>, NoContent, ValidationProblem, ProblemHttpResult> Result<T>(WorkItemOutcome<T> outcome, string what, string? created = null) =>
        outcome switch
        {
            { Verdict: AccessVerdict.NotFound } => ApiConventions.NotFoundProblem($"No {what} with this id."),
            { Verdict: AccessVerdict.Forbidden } => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                detail: $"You may not do this to this {what}: it belongs to another rep or team, or this action is not part of your role."),
            { Errors: { } e } => TypedResults.ValidationProblem(WorkError.ToApi(e)),
            _ when created is not null => TypedResults.Created(created, outcome.Value!),
            _ => TypedResults.Ok(outcome.Value!),
        };

    private static string What(WorkTarget target) => target.Kind == RecordKind.Lead ? "lead" : "account";

    private static async Task<Results<Ok<List<NoteView>>, Created<List<NoteView>>, NoContent, ValidationProblem, ProblemHttpResult>> ListNotesAsync(WorkTarget target,
        ClaimsPrincipal user, NotesService notes, CancellationToken ct) => Result(await notes.ListAsync(user, target, ct), What(target));

    private static async Task<Results<Ok<NoteView>, Created<NoteView>, NoContent, ValidationProblem, ProblemHttpResult>> AddNoteAsync(WorkTarget target, NoteRequest body,
        ClaimsPrincipal user, NotesService notes, CancellationToken ct)
    {
        var outcome = await notes.AddAsync(user, target, body, ct);
        return Result(outcome, What(target), outcome.Value is { } v ? $"/api/v1/notes/{v.Id}" : null);
    }

    private static async Task<Results<Ok<List<TaskView>>, Created<List<TaskView>>, NoContent, ValidationProblem, ProblemHttpResult>> ListTasksAsync(WorkTarget target,
        ClaimsPrincipal user, TasksService tasks, CancellationToken ct) => Result(await tasks.ListAsync(user, target, ct), What(target));

    private static async Task<Results<Ok<TaskView>, Created<TaskView>, NoContent, ValidationProblem, ProblemHttpResult>> AddTaskAsync(WorkTarget target, TaskRequest body,
        ClaimsPrincipal user, TasksService tasks, CancellationToken ct)
    {
        var outcome = await tasks.AddAsync(user, target, body, ct);
        return Result(outcome, What(target), outcome.Value is { } v ? $"/api/v1/tasks/{v.Id}" : null);
    }

    private static async Task<Results<Ok<NoteView>, Created<NoteView>, NoContent, ValidationProblem, ProblemHttpResult>> EditNoteAsync(Guid id, NoteRequest body,
        ClaimsPrincipal user, NotesService notes, CancellationToken ct) => Result(await notes.EditAsync(user, id, body, ct), "note");

    private static async Task<Results<Ok<bool>, Created<bool>, NoContent, ValidationProblem, ProblemHttpResult>> DeleteNoteAsync(Guid id, ClaimsPrincipal user,
        NotesService notes, CancellationToken ct)
    {
        var outcome = await notes.DeleteAsync(user, id, ct);
        return outcome.Value ? TypedResults.NoContent() : Result(outcome, "note");
    }

    private static async Task<Results<Ok<TaskView>, Created<TaskView>, NoContent, ValidationProblem, ProblemHttpResult>> UpdateTaskAsync(Guid id, TaskPatch body,
        ClaimsPrincipal user, TasksService tasks, CancellationToken ct) => Result(await tasks.UpdateAsync(user, id, body, ct), "task");

    private static async Task<Results<Ok<List<MyTaskItem>>, ProblemHttpResult>> MineAsync(bool? includeDone, ClaimsPrincipal user, TasksService tasks, CancellationToken ct)
    {
        if (WorkAccess.IsKey(user) || Actor.From(user).Id is not { } me)
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "No tasks",
                detail: "Tasks belong to signed-in users; an API key has none. Read a lead's tasks with /api/v1/leads/{id}/tasks.");
        return TypedResults.Ok(await tasks.MineAsync(me, includeDone == true, ct));
    }
}
