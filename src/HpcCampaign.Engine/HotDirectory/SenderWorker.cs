using HpcCampaign.Engine.Transfer;

namespace HpcCampaign.Engine.HotDirectory;

/// <summary>
/// One sender: takes a batch of messages from the queue, delivers the files over its own reused SFTP connection (temp
/// name, verify, rename; small files with many requests in flight, large ones one at a time) and acks each only after
/// its file is verified at the destination. A destination outage releases what is left of the batch untouched and
/// waits (1 s doubling to 30 s); a failure of a file itself counts an attempt (exponential back-off, dead letter after
/// MaxAttempts).
/// </summary>
public sealed class SenderWorker
{
    private readonly HotDirectorySettings _settings;
    private readonly IHotQueue _queue;
    private readonly PostedCatalog _catalog;
    private readonly int _index;
    private readonly IHpcSink _sink;

    public SenderWorker(HotDirectorySettings settings, IHotQueue queue, PostedCatalog catalog, int index, ComponentMetrics metrics, IHpcSink sink)
    {
        _settings = settings;
        _queue = queue;
        _catalog = catalog;
        _index = index;
        Metrics = metrics;
        _sink = sink;
        Destination = new SftpDestination(Endpoint(settings), $"s{index + 1}");
    }

    public ComponentMetrics Metrics { get; }
    public SftpDestination Destination { get; }

    public static SftpEndpoint Endpoint(HotDirectorySettings s) =>
        new(s.RemoteHost, s.RemotePort, s.EffectiveRemoteUser, s.KeyFile, s.KnownHostsFile, s.RemoteDirectory,
            s.Verify.Equals("ReadBack", StringComparison.OrdinalIgnoreCase), s.Accelerator, (long)(s.AcceleratorThresholdMiB * 1024 * 1024));

    /// <summary>Messages taken and settled together: one lease, one round of SFTP requests in flight, one ack. Half the
    /// prefetch, so that the broker delivers the next batch while this one is being sent.</summary>
    private int BatchSize => Math.Max(1, _settings.Prefetch / 2);

    public async Task RunAsync(CancellationToken ct)
    {
        var outage = 1.0;
        string? lastOutage = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                // connected before taking work, so that the first files do not wait for a handshake
                if (!Destination.IsConnected)
                {
                    try { Destination.Connect(); }
                    catch (HpcException ex) when (ex.Kind is HpcErrorKind.ConnectionError or HpcErrorKind.AuthenticationError)
                    {
                        ReportOutage(ex, ref lastOutage);
                        try { await Task.Delay(TimeSpan.FromSeconds(outage), ct).ConfigureAwait(false); }
                        catch (OperationCanceledException) { break; }
                        outage = Math.Min(30, outage * 2);
                        continue;
                    }
                }
                IReadOnlyList<HotDelivery> batch;
                try { batch = await _queue.ReceiveAsync(_index, BatchSize, TimeSpan.FromSeconds(1), ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                if (batch.Count == 0) continue;
                var open = new Unsettled(batch);
                try
                {
                    await HandleAsync(open, ct).ConfigureAwait(false);
                    outage = 1.0;
                    if (lastOutage is not null)
                    {
                        _sink.Verbose($"Sender {_index + 1}: destination reachable again.");
                        lastOutage = null;
                    }
                }
                catch (OperationCanceledException)
                {
                    await _queue.ReleaseAsync(open.Remaining).ConfigureAwait(false);
                    break;
                }
                catch (HpcException ex) when (ex.Kind is HpcErrorKind.ConnectionError or HpcErrorKind.AuthenticationError)
                {
                    await _queue.ReleaseAsync(open.Remaining).ConfigureAwait(false);
                    ReportOutage(ex, ref lastOutage);
                    try { await Task.Delay(TimeSpan.FromSeconds(outage), ct).ConfigureAwait(false); }
                    catch (OperationCanceledException) { break; }
                    outage = Math.Min(30, outage * 2);
                }
            }
        }
        finally
        {
            Destination.Dispose();
        }
    }

    /// <summary>Reports an outage once (until the destination answers again): refused logins and host keys are errors.</summary>
    private void ReportOutage(HpcException ex, ref string? lastOutage)
    {
        if (lastOutage == ex.ErrorId) return;
        if (ex.Kind == HpcErrorKind.AuthenticationError) _sink.Error(ex);
        else _sink.Warning($"Sender {_index + 1}: {ex.Message} (files stay queued).");
        lastOutage = ex.ErrorId;
    }

    /// <summary>The deliveries of a batch that are not settled yet (acked, failed or released), in lease order.</summary>
    private sealed class Unsettled(IReadOnlyList<HotDelivery> batch)
    {
        private readonly List<HotDelivery> _left = batch.ToList();
        public IReadOnlyList<HotDelivery> Remaining => _left.ToList();
        public void Settle(IEnumerable<HotDelivery> done)
        {
            foreach (var d in done) _left.Remove(d);
        }
    }

    private async Task HandleAsync(Unsettled open, CancellationToken ct)
    {
        var done = new List<HotDelivery>();
        var small = new List<(HotDelivery D, V03Message M, string Local, FileInfo Info, int Mode)>();
        var large = new List<(HotDelivery D, V03Message M, string Local, FileInfo Info, int Mode)>();
        foreach (var d in open.Remaining)
        {
            V03Message message;
            try { message = V03Message.Parse(d.Body); }
            catch (HpcException ex)
            {
                Metrics.Received(d.Body.Length, 0);
                Metrics.Rejected();
                _sink.Warning($"Discarding a malformed message: {ex.Message}");
                done.Add(d);
                continue;
            }
            var lag = Math.Max(0, (DateTime.UtcNow - V03Message.ParseTime(message.PubTime)).TotalSeconds);
            Metrics.Received(System.Text.Encoding.UTF8.GetByteCount(d.Body), lag);
            var rel = message.RelPath;
            if (!IsSafeRelative(rel))
            {
                Metrics.Rejected();
                _sink.Warning($"Discarding a message with an unsafe relPath '{rel}'.");
                done.Add(d);
                continue;
            }
            if (message.IsRemove)
            {
                try
                {
                    Destination.Connect();
                    if (Destination.Remove(rel)) _sink.Verbose($"Removed {Destination.RemotePathOf(rel)}.");
                    Metrics.Delivered(0, 0);
                    done.Add(d);
                }
                catch (HpcException ex) when (ex.Kind is not (HpcErrorKind.ConnectionError or HpcErrorKind.AuthenticationError))
                {
                    await FailAsync(open, d, ex).ConfigureAwait(false);
                }
                continue;
            }
            var local = LocalPath(message);
            var fi = new FileInfo(local);
            int mode;
            try
            {
                if (!fi.Exists)
                {
                    // the file went away after it was posted (a delete message follows when forwarding is on)
                    Metrics.Rejected();
                    _sink.Verbose($"'{local}' no longer exists; nothing to send.");
                    done.Add(d);
                    continue;
                }
                mode = Watcher.UnixMode(local);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await FailAsync(open, d, ex).ConfigureAwait(false);
                continue;
            }
            var accelerated = _settings.Accelerator is not null && _settings.AcceleratorThresholdMiB > 0 && fi.Length >= _settings.AcceleratorThresholdMiB * 1024 * 1024;
            (fi.Length <= SftpDestination.BatchFileLimit && !accelerated ? small : large).Add((d, message, local, fi, mode));
        }
        await SettleAsync(open, done).ConfigureAwait(false);

        if (small.Count > 0)
        {
            Destination.Connect();
            var outcomes = await Destination.SendBatchAsync(small.Select(f => new BatchFile(f.Local, f.M.RelPath, f.Mode)).ToList(), ct).ConfigureAwait(false);
            for (var i = 0; i < small.Count; i++)
                if (outcomes[i].Result is { } result)
                {
                    done.Add(small[i].D);
                    Metrics.Delivered(small[i].Info.Length, result.Bytes);
                    _sink.Verbose($"Sent {result.RemotePath} ({result.Bytes} bytes, verified).");
                }
            await SettleAsync(open, done).ConfigureAwait(false);
            for (var i = 0; i < small.Count; i++)
            {
                var (d, message, local, fi, _) = small[i];
                if (outcomes[i].Error is { } error) await FailAsync(open, d, error).ConfigureAwait(false);
                else if (_settings.RemoveAfterSend) RemoveSource(message.RelPath, local, fi);
            }
        }

        foreach (var (d, message, local, fi, mode) in large)
        {
            Destination.Connect();
            SendResult result;
            try
            {
                var expected = message.IdentityMethod == "sha512" ? message.IdentityValue : null;
                var current = message.Size == fi.Length && message.MTime == V03Message.FormatTime(fi.LastWriteTimeUtc);
                result = Destination.Send(local, message.RelPath, expected, mode, fi.LastWriteTimeUtc, fi.LastAccessTimeUtc, ct, current);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException || ex is HpcException { Kind: not (HpcErrorKind.ConnectionError or HpcErrorKind.AuthenticationError) })
            {
                await FailAsync(open, d, ex).ConfigureAwait(false);
                continue;
            }
            await SettleAsync(open, new List<HotDelivery> { d }).ConfigureAwait(false);
            Metrics.Delivered(fi.Length, result.Bytes);
            _sink.Verbose(result.AlreadyPresent ? $"{result.RemotePath} already delivered and verified." : $"Sent {result.RemotePath} ({result.Bytes} bytes{(Destination.LastSendAccelerated ? " via " + _settings.Accelerator : "")}, verified).");
            if (_settings.RemoveAfterSend) RemoveSource(message.RelPath, local, fi);
        }
    }

    private async Task SettleAsync(Unsettled open, List<HotDelivery> done)
    {
        if (done.Count == 0) return;
        await _queue.AckAsync(done).ConfigureAwait(false);
        open.Settle(done);
        done.Clear();
    }

    /// <summary>A failure of the file itself: counts an attempt (retry after a back-off, dead letter after the last).</summary>
    private async Task FailAsync(Unsettled open, HotDelivery d, Exception ex)
    {
        var id = ex is HpcException h ? h.ErrorId : ex is UnauthorizedAccessException ? "LocalAccessDenied" : "LocalReadFailed";
        var dead = await _queue.FailAsync(d, $"{id}: {ex.Message}").ConfigureAwait(false);
        open.Settle(new[] { d });
        if (dead) _sink.Error(new HpcException("DeliveryDeadLettered", HpcErrorKind.InvalidOperation,
            $"Giving up after {_settings.MaxAttempts} attempts ({ex.Message}); see Get-HotDirectoryDeadLetter.", (ex as HpcException)?.Target, ex));
        else _sink.Verbose($"Sender {_index + 1}: attempt {d.Attempts + 1} failed ({ex.Message}); retrying later.");
    }

    private void RemoveSource(string rel, string local, FileInfo sent)
    {
        var now = new FileInfo(local);
        if (!now.Exists || now.Length != sent.Length || now.LastWriteTimeUtc != sent.LastWriteTimeUtc) return;  // changed since: keep it
        _catalog.MarkRemovedAfterSend(rel);
        try { File.Delete(local); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _sink.Warning($"Sent '{local}' but could not remove it: {ex.Message}");
        }
    }

    /// <summary>Files are read only from the watch folder (like sr3's baseDir), whatever baseUrl a message carries.</summary>
    private string LocalPath(V03Message m) => Path.Combine(_settings.WatchDirectory, m.RelPath.Replace('/', Path.DirectorySeparatorChar));

    internal static bool IsSafeRelative(string rel) =>
        rel.Length > 0 && !rel.StartsWith('/') && !rel.Contains('\\') && !rel.Contains('\0') && rel.Split('/').All(p => p is not ("" or "." or ".."));
}
