using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Playwright;

namespace Tandem.BrowserTests;

/// <summary>
/// Starts the already-built Tandem app as a child process on a free port, with a fresh SQLite database,
/// and opens pages in the shared browser. One per test class, so every test class gets its own database.
/// </summary>
public class TandemAppFixture(BrowserHost browser) : IAsyncLifetime
{
    private static readonly SemaphoreSlim BuildLock = new(1, 1);

    private readonly Lock _outputLock = new();
    private readonly Queue<string> _output = new();
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "tandem-browser-" + Guid.NewGuid().ToString("N")[..12]);
    private Process? _process;

    public string BaseUrl { get; private set; } = "";

    public string RepoRoot { get; } = FindRepoRoot();

    public virtual async ValueTask InitializeAsync() => await StartAppAsync();

    /// <summary>Extra command-line arguments for the app (e.g. <c>--demo</c>).</summary>
    protected virtual IReadOnlyList<string> ExtraArguments => [];

    /// <summary>A fresh browser context (own cookies) in English, with the app as base URL.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseUrl,
            Locale = "en-US",
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        context.SetDefaultTimeout(30_000);
        context.SetDefaultNavigationTimeout(60_000);
        return await context.NewPageAsync();
    }

    /// <summary>The last lines the app wrote, for failure messages.</summary>
    public string Output()
    {
        lock (_outputLock)
            return string.Join('\n', _output);
    }

    public virtual async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        if (_process is not null)
        {
            try
            {
                if (!_process.HasExited)
                    _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                // Already gone, or stuck: nothing more we can do.
            }
            _process.Dispose();
        }
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task StartAppAsync()
    {
        var configuration = DetectConfiguration(RepoRoot);
        var projectDir = Path.Combine(RepoRoot, "src", "Tandem");
        var dll = Path.Combine(projectDir, "bin", configuration, "net10.0", "Tandem.dll");
        await EnsureBuiltAsync(projectDir, configuration, dll);

        Directory.CreateDirectory(_dataDir);
        var port = FreePort();
        BaseUrl = $"http://127.0.0.1:{port}";

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = projectDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(BaseUrl);
        foreach (var argument in ExtraArguments)
            start.ArgumentList.Add(argument);
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("ASPNETCORE_HTTP_PORTS");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["ConnectionStrings__Tandem"] = $"Data Source={Path.Combine(_dataDir, "tandem.db")}";
        start.Environment["Tandem__RateLimits__AuthAttemptsPerMinute"] = "1000";

        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"Tandem exited with code {_process.ExitCode} before answering /healthz.\n{Output()}");
            try
            {
                using var response = await http.GetAsync($"{BaseUrl}/healthz", TestContext.Current.CancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
            }
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        throw new TimeoutException($"Tandem did not answer {BaseUrl}/healthz with 200 within 60 s.\n{Output()}");
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_outputLock)
        {
            _output.Enqueue(line);
            while (_output.Count > 300)
                _output.Dequeue();
        }
    }

    private static async Task EnsureBuiltAsync(string projectDir, string configuration, string dll)
    {
        await BuildLock.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (File.Exists(dll))
                return;
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = projectDir,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "build", Path.Combine(projectDir, "Tandem.csproj"), "-c", configuration, "-nologo" })
                start.ArgumentList.Add(arg);
            using var build = Process.Start(start)!;
            var stdout = build.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = build.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await build.WaitForExitAsync(TestContext.Current.CancellationToken);
            if (build.ExitCode != 0 || !File.Exists(dll))
                throw new InvalidOperationException($"Building Tandem ({configuration}) failed:\n{await stdout}\n{await stderr}");
        }
        finally
        {
            BuildLock.Release();
        }
    }

    private static string DetectConfiguration(string repoRoot)
    {
        if (Environment.GetEnvironmentVariable("TANDEM_CONFIGURATION") is { Length: > 0 } fromEnv)
            return fromEnv;
        var bin = Path.Combine(repoRoot, "src", "Tandem", "bin");
        var debug = new FileInfo(Path.Combine(bin, "Debug", "net10.0", "Tandem.dll"));
        var release = new FileInfo(Path.Combine(bin, "Release", "net10.0", "Tandem.dll"));
        if (debug.Exists || release.Exists)
            return release.Exists && (!debug.Exists || release.LastWriteTimeUtc > debug.LastWriteTimeUtc) ? "Release" : "Debug";
        // Nothing built yet: use the configuration the tests themselves were built with.
        return AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release" : "Debug";
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tandem.slnx")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No Tandem.slnx above {AppContext.BaseDirectory}.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
