#pragma warning disable CA1416 // these tests run on Linux (the test sshd is local)
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Tests;

namespace HpcCampaign.Engine.Tests.HotDirectory;

/// <summary>
/// A hot directory against the real test sshd: a fresh watch folder, a fresh remote folder under the test user's home
/// (which is on this machine, so tests read the delivered files directly), and the runner on a background task.
/// </summary>
internal sealed class HotDirectoryRig : IAsyncDisposable
{
    private CancellationTokenSource? _cts;
    private Task? _run;

    public HotDirectoryRig(string name, Action<HotDirectorySettings>? configure = null, [System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        Root = TestEnv.NewTempDir(test);
        Watch = Path.Combine(Root, "to_cluster");
        Directory.CreateDirectory(Watch);
        RemoteDirectory = $"hotdir-test-{Guid.NewGuid():N}"[..24];
        Settings = new HotDirectorySettings
        {
            Name = name,
            WatchDirectory = Watch,
            StateDirectory = Path.Combine(Root, "state"),
            RemoteHost = TestEnv.SshHost,
            RemotePort = TestEnv.SshPort,
            RemoteUser = TestEnv.SshUser,
            KeyFile = TestEnv.SshKey,
            KnownHostsFile = TestEnv.SshKnownHosts,
            RemoteDirectory = RemoteDirectory + "/on_cluster",
            Senders = 2,
            SettleSeconds = 0.3,
            RescanSeconds = 5,
            MetricsIntervalSeconds = 0.5,
            RetryBaseSeconds = 0.2,
            RetryMaxSeconds = 1,
        };
        configure?.Invoke(Settings);
    }

    public string Root { get; }
    public string Watch { get; }
    public string RemoteDirectory { get; }
    public HotDirectorySettings Settings { get; }
    public CollectingSink Sink { get; } = new();
    public string RemoteRoot => Path.Combine(TestEnv.SshHome, RemoteDirectory, "on_cluster");
    public string State => Settings.ResolvedStateDirectory;

    public void Start()
    {
        _cts = new CancellationTokenSource();
        var token = _cts.Token;
        _run = Task.Run(() => HotDirectoryRunner.RunAsync(Settings, Sink, token));
    }

    public async Task StopAsync()
    {
        if (_run is null) return;
        _cts!.Cancel();
        try { await _run.WaitAsync(TimeSpan.FromSeconds(60)); }
        catch (OperationCanceledException) { }
        _run = null;
    }

    public Task? Running => _run;

    public string Write(string rel, int size, int seed = 1, UnixFileMode? mode = null, DateTime? mtime = null)
    {
        var path = Path.Combine(Watch, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, data);
        if (mode is not null) File.SetUnixFileMode(tmp, mode.Value);
        if (mtime is not null) File.SetLastWriteTimeUtc(tmp, mtime.Value);
        File.Move(tmp, path, overwrite: true);
        return path;
    }

    public string Remote(string rel) => Path.Combine(RemoteRoot, rel);

    /// <summary>Waits (bounded) until every relative path exists remotely with the local content.</summary>
    public async Task<bool> WaitDeliveredAsync(IEnumerable<string> rels, int seconds = 40)
    {
        var list = rels.ToList();
        for (var i = 0; i < seconds * 10; i++)
        {
            if (list.All(r => File.Exists(Remote(r)) && File.Exists(Path.Combine(Watch, r)) &&
                              new FileInfo(Remote(r)).Length == new FileInfo(Path.Combine(Watch, r)).Length))
                return list.All(r => File.ReadAllBytes(Remote(r)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(Watch, r))));
            if (_run is { IsFaulted: true }) await _run;
            await Task.Delay(100);
        }
        return false;
    }

    public static async Task<bool> WaitUntilAsync(Func<bool> condition, int seconds = 30)
    {
        for (var i = 0; i < seconds * 10; i++)
        {
            if (condition()) return true;
            await Task.Delay(100);
        }
        return condition();
    }

    /// <summary>Files under the remote root whose names are temp names (must be none after a clean run).</summary>
    public string[] RemoteTempFiles() =>
        Directory.Exists(RemoteRoot) ? Directory.GetFiles(RemoteRoot, "*hpcc-tmp", SearchOption.AllDirectories) : Array.Empty<string>();

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try { Directory.Delete(Path.Combine(TestEnv.SshHome, RemoteDirectory), true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        try { Directory.Delete(Root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
