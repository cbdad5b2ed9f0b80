using HpcCampaign.Engine.Transfer;

namespace HpcCampaign.Engine.HotDirectory;

/// <summary>
/// One sender: takes messages from the queue, delivers each over its own reused SFTP connection (temp name, verify,
/// rename) and acks only after the file is verified at the destination. A destination outage releases the message
/// untouched and waits (1 s doubling to 30 s); a failure of the file itself counts an attempt (exponential back-off,
/// dead letter after MaxAttempts).
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

    public async Task RunAsync(CancellationToken ct)
    {
        var outage = 1.0;
        string? lastOutage = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                HotDelivery? d;
                try { d = await _queue.ReceiveAsync(_index, TimeSpan.FromSeconds(1), ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                if (d is null) continue;
                try
                {
                    await HandleAsync(d, ct).ConfigureAwait(false);
                    outage = 1.0;
                    if (lastOutage is not null)
                    {
                        _sink.Verbose($"Sender {_index + 1}: destination reachable again.");
                        lastOutage = null;
                    }
                }
                catch (OperationCanceledException)
                {
                    await _queue.ReleaseAsync(d).ConfigureAwait(false);
                    break;
                }
                catch (HpcException ex) when (ex.Kind is HpcErrorKind.ConnectionError or HpcErrorKind.AuthenticationError)
                {
                    await _queue.ReleaseAsync(d).ConfigureAwait(false);
                    if (lastOutage != ex.ErrorId)
                    {
                        if (ex.Kind == HpcErrorKind.AuthenticationError) _sink.Error(ex);
                        else _sink.Warning($"Sender {_index + 1}: {ex.Message} (files stay queued).");
                        lastOutage = ex.ErrorId;
                    }
                    try { await Task.Delay(TimeSpan.FromSeconds(outage), ct).ConfigureAwait(false); }
                    catch (OperationCanceledException) { break; }
                    outage = Math.Min(30, outage * 2);
                }
                catch (Exception ex) when (ex is HpcException or IOException or UnauthorizedAccessException)
                {
                    var id = ex is HpcException h ? h.ErrorId : ex is UnauthorizedAccessException ? "LocalAccessDenied" : "LocalReadFailed";
                    var dead = await _queue.FailAsync(d, $"{id}: {ex.Message}").ConfigureAwait(false);
                    if (dead) _sink.Error(new HpcException("DeliveryDeadLettered", HpcErrorKind.InvalidOperation,
                        $"Giving up after {_settings.MaxAttempts} attempts ({ex.Message}); see Get-HotDirectoryDeadLetter.", (ex as HpcException)?.Target, ex));
                    else _sink.Verbose($"Sender {_index + 1}: attempt {d.Attempts + 1} failed ({ex.Message}); retrying later.");
                }
            }
        }
        finally
        {
            Destination.Dispose();
        }
    }

    private async Task HandleAsync(HotDelivery d, CancellationToken ct)
    {
        V03Message message;
        try { message = V03Message.Parse(d.Body); }
        catch (HpcException ex)
        {
            Metrics.Received(d.Body.Length, 0);
            Metrics.Rejected();
            _sink.Warning($"Discarding a malformed message: {ex.Message}");
            await _queue.AckAsync(d).ConfigureAwait(false);
            return;
        }
        var lag = Math.Max(0, (DateTime.UtcNow - V03Message.ParseTime(message.PubTime)).TotalSeconds);
        Metrics.Received(System.Text.Encoding.UTF8.GetByteCount(d.Body), lag);
        var rel = message.RelPath;
        if (!IsSafeRelative(rel))
        {
            Metrics.Rejected();
            _sink.Warning($"Discarding a message with an unsafe relPath '{rel}'.");
            await _queue.AckAsync(d).ConfigureAwait(false);
            return;
        }
        if (message.IsRemove)
        {
            Destination.Connect();
            if (Destination.Remove(rel)) _sink.Verbose($"Removed {Destination.RemotePathOf(rel)}.");
            Metrics.Delivered(0, 0);
            await _queue.AckAsync(d).ConfigureAwait(false);
            return;
        }
        var local = LocalPath(message);
        var fi = new FileInfo(local);
        if (!fi.Exists)
        {
            // the file went away after it was posted (a delete message follows when forwarding is on)
            Metrics.Rejected();
            _sink.Verbose($"'{local}' no longer exists; nothing to send.");
            await _queue.AckAsync(d).ConfigureAwait(false);
            return;
        }
        Destination.Connect();
        var expected = message.IdentityMethod == "sha512" ? message.IdentityValue : null;
        var mode = Watcher.UnixMode(local);
        var result = Destination.Send(local, rel, expected, mode, fi.LastWriteTimeUtc, fi.LastAccessTimeUtc, ct);
        await _queue.AckAsync(d).ConfigureAwait(false);
        Metrics.Delivered(fi.Length, result.Bytes);
        _sink.Verbose(result.AlreadyPresent ? $"{result.RemotePath} already delivered and verified." : $"Sent {result.RemotePath} ({result.Bytes} bytes{(Destination.LastSendAccelerated ? " via " + _settings.Accelerator : "")}, verified).");
        if (_settings.RemoveAfterSend) RemoveSource(rel, local, fi);
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
