using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Tandem.Data;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>
/// Background loop of each instance: claims a pending import (or one whose runner stopped sending heartbeats)
/// with a conditional UPDATE — only one instance's UPDATE matches, so two instances never run the same job —
/// and runs it. Only jobs whose file this instance can read are claimed. Also sweeps old files.
/// </summary>
public sealed class ImportWorker(IServiceScopeFactory scopes, IOptions<ImportOptions> options, ImportSignal signal, TimeProvider clock, ILogger<ImportWorker> log) : BackgroundService
{
    private readonly string _instance = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private DateTimeOffset _lastSweep;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.RunWorker)
            return;
        // Let the app finish starting (and migrating) before the first query.
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            var ran = false;
            try
            {
                ran = await RunNextAsync(stoppingToken);
                await SweepFilesAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException or IOException or System.Data.Common.DbException)
            {
                log.LogWarning(ex, "Import worker could not check for work; retrying");
            }
            if (!ran)
                await signal.WaitAsync(TimeSpan.FromSeconds(Math.Max(0.05, options.Value.PollSeconds)), stoppingToken);
        }
    }

    /// <summary>Claims and runs one job; false when there was none this instance could take.</summary>
    public async Task<bool> RunNextAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
        var now = clock.GetUtcNow();
        var stale = now - TimeSpan.FromSeconds(options.Value.StaleAfterSeconds);
        var candidates = await db.Set<ImportJob>().AsNoTracking()
            .Where(j => j.Status == ImportStatus.Pending || (j.Status == ImportStatus.Running && j.HeartbeatAt < stale))
            .OrderBy(j => j.CreatedAt)
            .Select(j => new { j.Id, j.FilePath })
            .Take(20)
            .ToListAsync(ct);
        foreach (var candidate in candidates)
        {
            if (!File.Exists(candidate.FilePath))
                continue;
            var claimed = await db.Set<ImportJob>()
                .Where(j => j.Id == candidate.Id && (j.Status == ImportStatus.Pending || (j.Status == ImportStatus.Running && j.HeartbeatAt < stale)))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(j => j.Status, ImportStatus.Running)
                    .SetProperty(j => j.RunningOn, _instance)
                    .SetProperty(j => j.HeartbeatAt, now)
                    .SetProperty(j => j.StartedAt, j => j.StartedAt ?? now), ct);
            if (claimed != 1)
                continue;
            log.LogInformation("Import {ImportId} claimed by {Instance}", candidate.Id, _instance);
            await scope.ServiceProvider.GetRequiredService<ImportRunner>().RunAsync(candidate.Id, ct);
            return true;
        }
        return false;
    }

    /// <summary>Deletes files of the imports folder older than <see cref="ImportOptions.KeepFilesHours"/> that no unfinished job needs.</summary>
    private async Task SweepFilesAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (now - _lastSweep < TimeSpan.FromMinutes(10))
            return;
        _lastSweep = now;
        var folder = Path.GetFullPath(options.Value.Folder);
        if (!Directory.Exists(folder))
            return;
        var old = Directory.EnumerateFiles(folder, "*.csv")
            .Where(f => now - File.GetLastWriteTimeUtc(f) > TimeSpan.FromHours(options.Value.KeepFilesHours))
            .ToList();
        if (old.Count == 0)
            return;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
        var needed = await db.Set<ImportJob>().AsNoTracking()
            .Where(j => j.Status == ImportStatus.Pending || j.Status == ImportStatus.Running)
            .Select(j => j.FilePath).ToListAsync(ct);
        foreach (var file in old.Except(needed, StringComparer.Ordinal))
            ImportRunner.TryDelete(file);
    }
}
