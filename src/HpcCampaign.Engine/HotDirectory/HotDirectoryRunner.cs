namespace HpcCampaign.Engine.HotDirectory;

/// <summary>
/// Runs one hot directory in this process: the watcher and N senders over one queue, until the token is cancelled or
/// a stop request file appears in the state folder (Stop-HotDirectory). Holds an exclusive lock file so a second
/// instance on the same state refuses to start; writes a pid file and the metrics files that status reads.
/// </summary>
public static class HotDirectoryRunner
{
    public const string PidFileName = "hotdirectory.pid";
    public const string StopFileName = "stop.request";
    public const string LockFileName = "hotdirectory.lock";

    public static async Task RunAsync(HotDirectorySettings settings, IHpcSink sink, CancellationToken ct)
    {
        settings.Validate();
        var state = settings.ResolvedStateDirectory;
        Directory.CreateDirectory(state);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(state, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new HpcException("HotDirectoryAlreadyRunning", HpcErrorKind.ResourceExists,
                $"Hot directory '{settings.Name}' is already running on state folder '{state}'.", settings.Name, ex);
        }
        var pidFile = Path.Combine(state, PidFileName);
        var stopFile = Path.Combine(state, StopFileName);
        await using var lockGuard = lockFile.ConfigureAwait(false);
        File.Delete(stopFile);
        Directory.CreateDirectory(Path.Combine(state, "metrics"));
        foreach (var old in Directory.GetFiles(Path.Combine(state, "metrics"), "*.json")) File.Delete(old);
        Common.AtomicFile.WriteAllText(pidFile, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            var store = new HotDirectoryStore(state);
            var catalog = new PostedCatalog(store);
            await using IHotQueue queue = settings.UsesBroker ? new RabbitHotQueue(settings, store, sink) : new EmbeddedHotQueue(store, settings);
            await queue.StartAsync(settings.Senders, ct).ConfigureAwait(false);
            var watchMetrics = new ComponentMetrics(state, "watch", 1, 1);
            var watcher = new Watcher(settings, queue, catalog, watchMetrics, sink);
            var senders = Enumerable.Range(0, settings.Senders)
                .Select(i => new SenderWorker(settings, queue, catalog, i, new ComponentMetrics(state, "sender", i + 1, settings.Senders), sink)).ToList();
            await ProbeDestinationAsync(senders[0].Destination, sink, ct).ConfigureAwait(false);
            sink.Verbose($"Hot directory '{settings.Name}': watching {settings.WatchDirectory}, {queue.Description}, {settings.Senders} sender(s) to " +
                         $"sftp://{settings.EffectiveRemoteUser}@{settings.RemoteHost}:{settings.RemotePort}/{settings.RemoteDirectory}.");

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

            var work = new List<Task> { Task.Run(() => watcher.RunAsync(stop.Token), CancellationToken.None) };
            work.AddRange(senders.Select(s => Task.Factory.StartNew(() => s.RunAsync(stop.Token), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()));
            var housekeeping = Task.Run(() => HousekeepAsync(settings, queue, store, watcher, watchMetrics, senders, stopFile, stop, sink), CancellationToken.None);

            var first = await Task.WhenAny(work).ConfigureAwait(false);
            stop.Cancel();
            try { await Task.WhenAll(work).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            finally
            {
                await housekeeping.ConfigureAwait(false);
                WriteMetrics(queue, store, watchMetrics, senders, null, stopped: true);
                sink.Progress(new HpcProgress(1, $"Hot directory {settings.Name}", "stopped") { Completed = true });
            }
            if (first.IsFaulted && !ct.IsCancellationRequested) await first.ConfigureAwait(false);
        }
        finally
        {
            Common.AtomicFile.TryDelete(pidFile);
            Common.AtomicFile.TryDelete(stopFile);
        }
    }

    /// <summary>Fails fast on what waiting cannot fix (host key, login, key file); an unreachable host or a remote folder
    /// that cannot take files yet is only a warning. The first sender's connection is the probe, and it keeps it.</summary>
    private static async Task ProbeDestinationAsync(Transfer.SftpDestination first, IHpcSink sink, CancellationToken ct)
    {
        try
        {
            first.Connect();
            await first.ProbeWriteAsync(ct).ConfigureAwait(false);
        }
        catch (HpcException ex) when (ex.Kind == HpcErrorKind.ConnectionError)
        {
            sink.Warning($"{ex.Message}; files will be queued until it is reachable.");
        }
        catch (HpcException ex) when (ex.Kind != HpcErrorKind.AuthenticationError)
        {
            sink.Warning($"The destination cannot take files yet ({ex.Message}); deliveries will be retried.");
        }
    }

    private static async Task HousekeepAsync(HotDirectorySettings settings, IHotQueue queue, HotDirectoryStore store, Watcher watcher,
        ComponentMetrics watchMetrics, List<SenderWorker> senders, string stopFile, CancellationTokenSource stop, IHpcSink sink)
    {
        var interval = TimeSpan.FromSeconds(Math.Max(0.2, settings.MetricsIntervalSeconds));
        var nextMetrics = DateTime.UtcNow;
        long? depth = null;
        var nextDepth = DateTime.MinValue;
        while (!stop.IsCancellationRequested)
        {
            if (File.Exists(stopFile))
            {
                sink.Verbose("Stop requested.");
                stop.Cancel();
                break;
            }
            if (DateTime.UtcNow >= nextMetrics)
            {
                try
                {
                    if (DateTime.UtcNow >= nextDepth)
                    {
                        depth = await queue.QueueDepthAsync(stop.Token).ConfigureAwait(false);
                        nextDepth = DateTime.UtcNow.AddSeconds(settings.UsesBroker ? 5 : 0);
                    }
                    var (retry, dead) = WriteMetrics(queue, store, watchMetrics, senders, depth, stopped: false);
                    var sent = senders.Sum(s => s.Metrics.TotalFiles);
                    sink.Progress(new HpcProgress(1, $"Hot directory {settings.Name}",
                        $"posted {watchMetrics.TotalFiles}, delivered {sent}, queued {depth?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}, pending {watcher.PendingCount}, retry {retry}, dead {dead}"));
                }
                catch (OperationCanceledException) { break; }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
                {
                    sink.Verbose("Writing metrics failed: " + ex.Message);
                }
                nextMetrics = DateTime.UtcNow + interval;
            }
            try { await Task.Delay(250, stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    private static (long Retry, long Dead) WriteMetrics(IHotQueue queue, HotDirectoryStore store, ComponentMetrics watchMetrics, List<SenderWorker> senders, long? depth, bool stopped)
    {
        var (_, _, retry, dead) = store.Counts();
        watchMetrics.Write(watchMetrics.Snapshot(queue.Connected, queue.DisconnectedSeconds, 0, depth, 0, 0, stopped));
        foreach (var s in senders)
            s.Metrics.Write(s.Metrics.Snapshot(queue.Connected, queue.DisconnectedSeconds, s.Destination.ConnectedSeconds, depth, retry, dead, stopped));
        return (retry, dead);
    }

    /// <summary>Asks a running instance (any process) to stop and waits for it. False when it did not stop in time.</summary>
    public static async Task<bool> RequestStopAsync(string stateDirectory, TimeSpan timeout, CancellationToken ct)
    {
        var pidFile = Path.Combine(stateDirectory, PidFileName);
        if (!IsRunning(stateDirectory)) return true;
        Common.AtomicFile.WriteAllText(Path.Combine(stateDirectory, StopFileName), "stop");
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (!IsRunning(stateDirectory)) return true;
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
        return !IsRunning(stateDirectory) || !File.Exists(pidFile);
    }

    public static int? RunningPid(string stateDirectory)
    {
        var pidFile = Path.Combine(stateDirectory, PidFileName);
        if (!File.Exists(pidFile)) return null;
        if (!int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid)) return null;
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return p.HasExited ? null : pid;
        }
        catch (ArgumentException) { return null; }
        catch (InvalidOperationException) { return null; }
    }

    /// <summary>Running = the lock is held (the pid file alone can be stale after a kill).</summary>
    public static bool IsRunning(string stateDirectory)
    {
        var lockPath = Path.Combine(stateDirectory, LockFileName);
        if (!File.Exists(lockPath)) return false;
        try
        {
            using var probe = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException) { return true; }
        catch (UnauthorizedAccessException) { return true; }
    }
}
