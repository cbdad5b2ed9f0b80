using System.Collections.Concurrent;

namespace HpcCampaign.Engine.Synchrotron;

/// <summary>
/// Copies EPN folders with rsync, up to a throttle limit in parallel. An EPN is recorded in the ignore list only
/// after rsync returned 0 and every file of rsync's own source listing is in the destination with its size. Each failing EPN becomes one error on
/// the sink while the others go on; an EPN already being copied in this process is not started twice.
/// </summary>
public sealed class EpnSyncer
{
    private static readonly ConcurrentDictionary<string, byte> InFlight = new(StringComparer.Ordinal);
    private readonly SynchrotronConfig _config;

    public EpnSyncer(SynchrotronConfig config) => _config = config;

    /// <summary>Copy EPNs the ignore list already holds (rsync --size-only then copies only what differs).</summary>
    public bool Force { get; init; }

    /// <summary>Progress activity ids start here (one per EPN plus the overall one).</summary>
    public int ProgressBaseId { get; init; } = 1;

    public async Task SyncAsync(IReadOnlyList<string> epns, bool dryRun, int throttleLimit, IHpcSink sink, CancellationToken ct)
    {
        var keyFile = _config.Require(_config.KeyFile, "key-file");
        _config.Require(_config.Host, "host");
        _config.Require(_config.DestinationRootPath, "destination-root-path");
        if (!File.Exists(keyFile))
            throw new HpcException("KeyFileNotFound", HpcErrorKind.ObjectNotFound, $"SSH key file '{keyFile}' (key-file) does not exist.", keyFile);

        var distinct = epns.Distinct(StringComparer.Ordinal).ToList();
        using var gate = new SemaphoreSlim(Math.Max(1, throttleLimit));
        var done = 0;
        var overall = ProgressBaseId;
        var activity = dryRun ? "Synchrotron dry run" : "Synchrotron sync";
        sink.Progress(new HpcProgress(overall, activity, $"0 of {distinct.Count} EPNs") { PercentComplete = 0 });
        var tasks = distinct.Select(async (epn, index) =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var result = await SyncOneAsync(epn, keyFile, dryRun, overall + 1 + index, overall, sink, ct).ConfigureAwait(false);
                if (result is not null) sink.Output(result);
            }
            catch (HpcException ex)
            {
                sink.Error(ex);
            }
            finally
            {
                gate.Release();
                var n = Interlocked.Increment(ref done);
                sink.Progress(new HpcProgress(overall, activity, $"{n} of {distinct.Count} EPNs") { PercentComplete = 100 * n / Math.Max(1, distinct.Count) });
            }
        }).ToList();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        finally
        {
            sink.Progress(new HpcProgress(overall, activity, "done") { Completed = true });
        }
    }

    private async Task<SynchrotronSyncResult?> SyncOneAsync(string epn, string keyFile, bool dryRun, int progressId, int parentId, IHpcSink sink, CancellationToken ct)
    {
        EpnName.Number(epn);
        var project = EpnName.RequireProject(_config, epn);
        var destination = Path.GetFullPath(_config.DestinationFor(project, epn));
        var source = Rsync.RemoteSpec(_config, _config.SourcePathFor(epn));
        var ignore = _config.IgnorePath is { } ip ? new IgnoreList(ip) : null;

        if (!Force && ignore is not null && ignore.Contains(epn))
        {
            sink.Verbose($"EPN {epn} is in {ignore.Path}; skipped (use -Force to copy it again).");
            return new SynchrotronSyncResult(epn, project, source, destination, "AlreadySynced", dryRun, false, false, -1, 0, 0, 0, 0, 0, Array.Empty<string>());
        }
        if (!InFlight.TryAdd(destination, 0))
            throw new HpcException("EpnInFlight", HpcErrorKind.ResourceExists, $"EPN {epn} is already being copied to {destination} by this process.", epn);
        try
        {
            void Report(int percent, long bytes) => sink.Progress(new HpcProgress(progressId, $"EPN {epn}", $"{percent}% ({bytes.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} bytes)")
                { ParentActivityId = parentId, PercentComplete = percent, CurrentOperation = destination });

            if (dryRun)
            {
                sink.Verbose($"EPN {epn}: rsync dry run {source} -> {destination}");
                var dry = await Rsync.RunAsync(Rsync.DryRunArguments(_config, keyFile, source, destination), null, ct).ConfigureAwait(false);
                if (dry.ExitCode != 0) throw Rsync.Classify(dry, epn, source, destination);
                sink.Progress(new HpcProgress(progressId, $"EPN {epn}", "dry run done") { ParentActivityId = parentId, Completed = true });
                return new SynchrotronSyncResult(epn, project, source, destination, "WouldSync", true, false, false, 0, dry.Stats.FilesTotal,
                    dry.Stats.FilesTransferred, dry.Stats.TotalBytes, dry.Stats.BytesTransferred, dry.Seconds, dry.PendingChanges.ToArray());
            }

            EnsureWritable(epn, destination);
            sink.Verbose($"EPN {epn}: rsync {source} -> {destination}");
            Report(0, 0);
            var run = await Rsync.RunAsync(Rsync.TransferArguments(_config, keyFile, source, destination), Report, ct).ConfigureAwait(false);
            sink.Progress(new HpcProgress(progressId, $"EPN {epn}", "done") { ParentActivityId = parentId, Completed = true });
            foreach (var line in run.Errors.Where(l => !string.IsNullOrWhiteSpace(l)).Take(20)) sink.Verbose($"EPN {epn} rsync: {line}");
            if (run.ExitCode != 0) throw Rsync.Classify(run, epn, source, destination);

            var problems = Rsync.VerifyAgainstListing(run, destination);
            if (problems.Count > 0)
                throw new HpcException("IncompleteCopy", HpcErrorKind.InvalidData,
                    $"EPN {epn}: rsync returned 0 but the destination does not match the source listing ({string.Join("; ", problems.Take(3))}" +
                    $"{(problems.Count > 3 ? $" and {problems.Count - 3} more" : "")}); not recorded as synced.", epn);
            var recorded = false;
            if (ignore is not null) recorded = await ignore.AddAsync(epn, CancellationToken.None).ConfigureAwait(false);
            else sink.Warning($"EPN {epn} copied, but the config has no 'ignore' file to record it in.");
            return new SynchrotronSyncResult(epn, project, source, destination, "Synced", false, true, recorded, run.ExitCode, run.Stats.FilesTotal,
                run.Stats.FilesTransferred, run.Stats.TotalBytes, run.Stats.BytesTransferred, run.Seconds, Array.Empty<string>());
        }
        finally
        {
            InFlight.TryRemove(destination, out _);
        }
    }

    /// <summary>Creates {root}/{project}/{epn}/data and proves it is writable with a probe file (rsync's own error comes late).</summary>
    private static void EnsureWritable(string epn, string destination)
    {
        try
        {
            Directory.CreateDirectory(destination);
            var probe = Path.Combine(destination, $".hpcc-write-probe-{Guid.NewGuid():N}");
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HpcException("DestinationNotWritable", HpcErrorKind.PermissionDenied,
                $"EPN {epn}: cannot create or write into {destination}: {ex.Message}", epn, ex);
        }
    }

    /// <summary>
    /// mxsync's service loop: find and sync, then wait <paramref name="every"/>, until cancelled. A failing round
    /// (portal down) is reported and the next round still runs.
    /// </summary>
    public async Task RepeatAsync(Func<CancellationToken, Task<IReadOnlyList<string>>> findEpns, bool dryRun, int throttleLimit,
        TimeSpan every, IHpcSink sink, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var epns = await findEpns(ct).ConfigureAwait(false);
                sink.Verbose($"Synchrotron round at {DateTimeOffset.Now:u}: {epns.Count} EPN(s) to copy.");
                if (epns.Count > 0) await SyncAsync(epns, dryRun, throttleLimit, sink, ct).ConfigureAwait(false);
            }
            catch (HpcException ex)
            {
                sink.Error(ex);
            }
            try
            {
                await Task.Delay(every, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
