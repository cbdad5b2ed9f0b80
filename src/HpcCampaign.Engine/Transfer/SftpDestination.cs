using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;

namespace HpcCampaign.Engine.Transfer;

/// <summary>Where and how to reach an SFTP destination. <paramref name="Accelerator"/> (scp or rsync) carries files of at least
/// <paramref name="AcceleratorThreshold"/> bytes (0 = never); verification and rename stay on SFTP.</summary>
public sealed record SftpEndpoint(string Host, int Port, string User, string? KeyFile, string? KnownHostsFile, string RemoteDirectory,
    bool VerifyByReadBack = false, string? Accelerator = null, long AcceleratorThreshold = 0);

/// <summary>What one delivery did.</summary>
public sealed record SendResult(long Bytes, string Sha512Base64, bool AlreadyPresent, string RemotePath);

/// <summary>One small file of a batch: where it is, where it goes (relative to the remote folder) and its mode.</summary>
public sealed record BatchFile(string LocalPath, string RelPath, int UnixMode);

/// <summary>What became of one file of a batch: delivered (Result) or failed for this file alone (Error).</summary>
public sealed record BatchOutcome(SendResult? Result, HpcException? Error);

/// <summary>
/// One reusable SFTP connection (plus an exec channel for sha512sum) that delivers files durably: upload to a
/// dot-temp name in the target folder, set mode and times, check size and SHA-512 of the remote temp file, then
/// posix-rename it over the final name. A final name therefore only ever holds a complete, verified file. The
/// host key must match known_hosts. Connection-level failures are HpcExceptions of kind ConnectionError or
/// AuthenticationError (the caller keeps the work and reconnects); anything else concerns the one file.
/// </summary>
public sealed class SftpDestination : IDisposable
{
    private readonly SftpEndpoint _endpoint;
    private readonly string _tempTag;
    private readonly HashSet<string> _knownDirectories = new(StringComparer.Ordinal);
    private SftpClient? _sftp;
    private SftpRequests? _requests;
    private SshClient? _ssh;
    private bool _execBroken;
    private HostKeyVerdict _hostKeyResult = HostKeyVerdict.Trusted;
    private readonly Stopwatch _connectedClock = new();
    private double _connectedBefore;

    public SftpDestination(SftpEndpoint endpoint, string tempTag)
    {
        _endpoint = endpoint;
        _tempTag = tempTag;
    }

    public bool IsConnected => _sftp is { IsConnected: true };
    /// <summary>Seconds with an open session since this object was created.</summary>
    public double ConnectedSeconds => _connectedBefore + _connectedClock.Elapsed.TotalSeconds;
    public string Target => $"sftp://{_endpoint.User}@{_endpoint.Host}:{_endpoint.Port}/{_endpoint.RemoteDirectory.TrimStart('/')}";

    public void Connect()
    {
        if (IsConnected) return;
        Disconnect();
        var known = _endpoint.KnownHostsFile is null ? null : KnownHosts.FromFile(_endpoint.KnownHostsFile);
        if (known is null)
            throw new HpcException("KnownHostsRequired", HpcErrorKind.InvalidArgument, "A known_hosts file is required: host keys are never accepted blindly.", _endpoint.Host);
        if (_endpoint.KeyFile is null || !File.Exists(_endpoint.KeyFile))
            throw new HpcException("SshKeyNotFound", HpcErrorKind.ObjectNotFound, $"SSH key file '{_endpoint.KeyFile}' does not exist.", _endpoint.KeyFile);
        PrivateKeyFile key;
        try { key = new PrivateKeyFile(_endpoint.KeyFile); }
        catch (Exception ex) when (ex is SshException or InvalidOperationException or ArgumentException)
        {
            throw new HpcException("InvalidSshKey", HpcErrorKind.InvalidData, $"'{_endpoint.KeyFile}' is not a usable SSH private key: {ex.Message}", _endpoint.KeyFile, ex);
        }
        ConnectionInfo Info() => new(_endpoint.Host, _endpoint.Port, _endpoint.User, new PrivateKeyAuthenticationMethod(_endpoint.User, key))
        {
            Timeout = TimeSpan.FromSeconds(20),
        };
        void CheckHostKey(object? sender, HostKeyEventArgs e)
        {
            _hostKeyResult = known.Verify(_endpoint.Host, _endpoint.Port, e.HostKey);
            e.CanTrust = _hostKeyResult == HostKeyVerdict.Trusted;
        }
        var sftp = new SftpClient(Info()) { OperationTimeout = TimeSpan.FromMinutes(5) };
        sftp.HostKeyReceived += CheckHostKey;
        try
        {
            sftp.Connect();
        }
        catch (Exception ex)
        {
            sftp.Dispose();
            throw ClassifyConnect(ex);
        }
        _sftp = sftp;
        _requests = SftpRequests.Bind(sftp);
        _connectedClock.Restart();
        // the exec channel (sha512sum of large files) is a second SSH connection, opened when the first large file needs it
        _connectExec = () =>
        {
            var ssh = new SshClient(Info());
            ssh.HostKeyReceived += CheckHostKey;
            try
            {
                ssh.Connect();
                return ssh;
            }
            catch (Exception ex)
            {
                ssh.Dispose();
                throw ClassifyConnect(ex);
            }
        };
    }

    private Func<SshClient>? _connectExec;

    /// <summary>The exec connection, or null in read-back mode or where running sha512sum failed before.</summary>
    private SshClient? Exec()
    {
        if (_endpoint.VerifyByReadBack || _execBroken) return null;
        if (_ssh is { IsConnected: true }) return _ssh;
        try { _ssh?.Dispose(); } catch (Exception) { }
        _ssh = null;
        _ssh = _connectExec?.Invoke();
        return _ssh;
    }

    private HpcException ClassifyConnect(Exception ex)
    {
        var target = $"{_endpoint.Host}:{_endpoint.Port}";
        if (ex is SshConnectionException && _hostKeyResult != HostKeyVerdict.Trusted)
        {
            return _hostKeyResult switch
            {
                HostKeyVerdict.Mismatch => new HpcException("HostKeyMismatch", HpcErrorKind.AuthenticationError,
                    $"The host key of {target} does not match {_endpoint.KnownHostsFile}; refusing to connect (possible man-in-the-middle).", target, ex),
                HostKeyVerdict.Revoked => new HpcException("HostKeyRevoked", HpcErrorKind.AuthenticationError, $"The host key of {target} is marked @revoked in {_endpoint.KnownHostsFile}.", target, ex),
                _ => new HpcException("HostKeyUnknown", HpcErrorKind.AuthenticationError,
                    $"{target} is not in {_endpoint.KnownHostsFile}; add its key (ssh-keyscan) after checking it.", target, ex),
            };
        }
        return ex switch
        {
            SshAuthenticationException => new HpcException("SshAuthenticationFailed", HpcErrorKind.AuthenticationError, $"{_endpoint.User}@{target} refused the key {_endpoint.KeyFile}: {ex.Message}", target, ex),
            HpcException h => h,
            _ => new HpcException("SshUnreachable", HpcErrorKind.ConnectionError, $"Cannot reach {target}: {ex.Message}", target, ex),
        };
    }

    public void Disconnect()
    {
        if (_connectedClock.IsRunning)
        {
            _connectedBefore += _connectedClock.Elapsed.TotalSeconds;
            _connectedClock.Reset();
        }
        _knownDirectories.Clear();
        try { _sftp?.Dispose(); } catch (Exception) { }
        try { _ssh?.Dispose(); } catch (Exception) { }
        _sftp = null;
        _requests = null;
        _ssh = null;
    }

    public void Dispose() => Disconnect();

    /// <summary>True when small files go out as bare SFTP requests (see <see cref="SftpRequests"/>); false on the slower public-API path.</summary>
    public bool UsesDirectRequests => _requests?.IsDirect == true;

    public string RemotePathOf(string relPath) => CombineRemote(_endpoint.RemoteDirectory, relPath);

    /// <summary>The hidden name a file is uploaded to beside its final name: <c>.&lt;name&gt;.&lt;sender&gt;.hpcc-tmp</c>.</summary>
    private string TempPathOf(string final)
    {
        var slash = final.LastIndexOf('/');
        return final[..(slash + 1)] + $".{final[(slash + 1)..]}.{_tempTag}.hpcc-tmp";
    }

    private static string CombineRemote(string dir, string rel)
    {
        dir = dir.Replace('\\', '/');
        if (dir is "" or ".") return rel;
        return dir.TrimEnd('/') + "/" + rel.TrimStart('/');
    }

    /// <summary>
    /// Delivers <paramref name="localPath"/> as <paramref name="relPath"/> under the remote folder. When the final file
    /// is already there with the expected size, mtime and SHA-512 (a re-delivered message), nothing is uploaded. With
    /// <paramref name="identityIsCurrent"/> the caller vouches that the expected SHA-512 was taken of the file as it is
    /// now (same size and mtime), so the upload does not hash it again; the size and mtime are checked again after it.
    /// </summary>
    public SendResult Send(string localPath, string relPath, string? expectedSha512Base64, int unixMode, DateTime mtimeUtc, DateTime atimeUtc, CancellationToken ct,
        bool identityIsCurrent = false)
    {
        var sftp = Session();
        var final = RemotePathOf(relPath);
        var slash = final.LastIndexOf('/');
        var dir = slash < 0 ? "" : final[..slash];
        var local = new FileInfo(localPath);
        var size = local.Length;
        return Guard(() =>
        {
            if (expectedSha512Base64 is not null && TryAttributes(sftp, final) is { IsRegularFile: true } existing
                && existing.Size == size && WholeSeconds(existing.LastWriteTimeUtc) == WholeSeconds(mtimeUtc)
                && RemoteSha512(final, size) == expectedSha512Base64)
                return new SendResult(0, expectedSha512Base64, true, final);

            MakeDirectories(sftp, dir);
            var temp = TempPathOf(final);
            string localHash;
            long sent;
            var accelerated = _endpoint.Accelerator is not null && _endpoint.AcceleratorThreshold > 0 && size >= _endpoint.AcceleratorThreshold;
            if (accelerated)
            {
                // hash locally while the external program copies (unless the message's SHA-512 is of this very file);
                // its exit status is checked (sr3 ignores it)
                var hashTask = identityIsCurrent && expectedSha512Base64 is not null
                    ? Task.FromResult((expectedSha512Base64, size))
                    : Task.Run(async () =>
                    {
                        var (hash, length) = await Common.FileHash.Sha512Async(localPath, size, ct).ConfigureAwait(false);
                        return (Convert.ToBase64String(hash), length);
                    }, ct);
                try { RunAccelerator(localPath, temp, ct); }
                catch
                {
                    try { hashTask.Wait(ct); } catch (Exception) { }
                    try { sftp.DeleteFile(temp); } catch (Exception) { }
                    throw;
                }
                (localHash, sent) = hashTask.GetAwaiter().GetResult();
                LastSendAccelerated = true;
            }
            else if (identityIsCurrent && expectedSha512Base64 is not null)
            {
                // the message's SHA-512 describes this very file (same size and mtime): no second local pass
                using var file = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 20);
                sftp.UploadFile(file, temp, true);
                sent = file.Position;
                localHash = expectedSha512Base64;
                LastSendAccelerated = false;
            }
            else
            {
                using var file = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 20);
                using var hashing = new HashingReadStream(file, ct);
                sftp.UploadFile(hashing, temp, true);
                sent = hashing.Count;
                localHash = hashing.HashBase64();
                LastSendAccelerated = false;
            }
            try
            {
                var after = new FileInfo(localPath);
                if (after.Length != sent || after.LastWriteTimeUtc != local.LastWriteTimeUtc)
                    throw new HpcException("SourceChanged", HpcErrorKind.InvalidOperation, $"'{localPath}' changed while it was being sent.", localPath);
                var attrs = sftp.GetAttributes(temp);
                if (attrs.Size != sent)
                    throw new HpcException("RemoteSizeMismatch", HpcErrorKind.InvalidData, $"Remote '{temp}' has {attrs.Size} bytes, {sent} were sent.", final);
                var remoteHash = RemoteSha512(temp, sent);
                if (remoteHash != localHash)
                    throw new HpcException("RemoteChecksumMismatch", HpcErrorKind.InvalidData, $"SHA-512 of remote '{temp}' differs from the local file.", final);
                attrs.SetPermissions(SftpRequests.ToOctalDigits(unixMode));
                attrs.LastWriteTimeUtc = mtimeUtc;
                attrs.LastAccessTimeUtc = atimeUtc;
                sftp.SetAttributes(temp, attrs);
                sftp.RenameFile(temp, final, true);
            }
            catch
            {
                try { sftp.DeleteFile(temp); } catch (Exception) { }
                throw;
            }
            return new SendResult(sent, localHash, false, final);
        }, final);
    }

    /// <summary>
    /// Creates the remote folder if needed and writes, reads back and removes a small hidden file in it, through the
    /// same requests as a delivery: a destination that cannot take files shows up at start, not as dead letters later
    /// (and the delivery path is compiled before the first files arrive).
    /// </summary>
    public async Task ProbeWriteAsync(CancellationToken ct)
    {
        var sftp = Session();
        var requests = _requests!;
        var folder = _endpoint.RemoteDirectory.Replace('\\', '/').TrimEnd('/');
        if (folder is "" or ".") folder = "";
        Guard(() => { MakeDirectories(sftp, folder); return true; }, folder);
        var probe = TempPathOf((folder.Length == 0 ? "" : folder + "/") + "hpcc-probe");
        var data = RandomNumberGenerator.GetBytes(64);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, requests.SessionLost);
        linked.CancelAfter(TimeSpan.FromMinutes(1));
        byte[] back;
        try
        {
            back = await requests.WriteAndReadBackAsync(probe, data, Convert.ToInt32("600", 8), DateTime.UtcNow, DateTime.UtcNow, linked.Token).ConfigureAwait(false);
            await requests.RemoveAsync(probe, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is not HpcException)
        {
            if (ex is OperationCanceledException) ex = new SshConnectionException("the session ended or stopped answering", ex);
            throw Classify(ex, probe) ?? new HpcException("RemoteOperationFailed", HpcErrorKind.InvalidOperation, $"Writing a test file in '{folder}' failed: {ex.Message}", probe, ex);
        }
        if (!back.AsSpan().SequenceEqual(data))
            throw new HpcException("RemoteChecksumMismatch", HpcErrorKind.InvalidData, $"A test file written to '{probe}' read back different.", probe);
    }

    /// <summary>Largest file that <see cref="SendBatchAsync"/> takes (it holds each file in memory while sending).</summary>
    public const long BatchFileLimit = ReadBackBelow;

    /// <summary>
    /// Delivers small files (each at most <see cref="BatchFileLimit"/>) the way <see cref="Send"/> does — temp name, mode
    /// and times, read back and compared, renamed over the final name — with the requests of all of them in flight at
    /// once on the one session. A file's own failure is its outcome; a lost connection throws (kind ConnectionError)
    /// and the caller keeps every file of the batch. Re-sending a file that is already there replaces it with the same
    /// bytes (cheaper for small files than checking it first).
    /// </summary>
    public async Task<IReadOnlyList<BatchOutcome>> SendBatchAsync(IReadOnlyList<BatchFile> files, CancellationToken ct)
    {
        var sftp = Session();
        var requests = _requests!;
        var n = files.Count;
        var finals = files.Select(f => RemotePathOf(f.RelPath)).ToArray();
        var outcomes = new BatchOutcome?[n];
        foreach (var folder in finals.Select((f, i) => (Dir: f.LastIndexOf('/') is var slash and >= 0 ? f[..slash] : "", i)).GroupBy(x => x.Dir))
        {
            try { Guard(() => { MakeDirectories(sftp, folder.Key); return true; }, folder.Key); }
            catch (HpcException ex) when (ex.Kind != HpcErrorKind.ConnectionError)
            {
                foreach (var (_, i) in folder) outcomes[i] = new BatchOutcome(null, ex);
            }
        }

        // requests stop waiting when the session reports an error or a server stops answering
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, requests.SessionLost);
        linked.CancelAfter(sftp.OperationTimeout);
        HpcException? lost = null;
        using var gate = new SemaphoreSlim(requests.Parallelism);
        await Task.WhenAll(Enumerable.Range(0, n).Where(i => outcomes[i] is null).Select(async i =>
        {
            var entered = false;
            try
            {
                await gate.WaitAsync(linked.Token).ConfigureAwait(false);
                entered = true;
                if (lost is null) outcomes[i] = await SendOneAsync(requests, files[i], finals[i], linked.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                if (ex is OperationCanceledException) ex = new SshConnectionException("the session ended or stopped answering", ex);
                var failure = Classify(ex, finals[i], disconnect: false)
                    ?? new HpcException("RemoteOperationFailed", HpcErrorKind.InvalidOperation, $"Sending '{files[i].LocalPath}' failed: {ex.Message}", finals[i], ex);
                if (failure.Kind == HpcErrorKind.ConnectionError) Interlocked.CompareExchange(ref lost, failure, null);
                else outcomes[i] = new BatchOutcome(null, failure);
            }
            finally
            {
                if (entered) gate.Release();
            }
        })).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        if (lost is not null)
        {
            Disconnect();
            throw lost;
        }
        return outcomes.Select(o => o!).ToList();
    }

    private async Task<BatchOutcome> SendOneAsync(SftpRequests requests, BatchFile file, string final, CancellationToken ct)
    {
        byte[] data;
        DateTime mtime, atime;
        try
        {
            var before = new FileInfo(file.LocalPath);
            mtime = before.LastWriteTimeUtc;
            atime = before.LastAccessTimeUtc;
            using (var stream = new FileStream(file.LocalPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1))
            {
                data = new byte[checked((int)Math.Min(stream.Length, BatchFileLimit))];
                stream.ReadExactly(data);
                if (stream.ReadByte() >= 0) throw new IOException("it grew while it was read");
            }
            var after = new FileInfo(file.LocalPath);
            if (!after.Exists || after.Length != data.Length || after.LastWriteTimeUtc != mtime)
                return new BatchOutcome(null, new HpcException("SourceChanged", HpcErrorKind.InvalidOperation, $"'{file.LocalPath}' changed while it was being sent.", file.LocalPath));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new BatchOutcome(null, new HpcException(ex is UnauthorizedAccessException ? "LocalAccessDenied" : "LocalReadFailed", HpcErrorKind.InvalidOperation,
                $"Cannot read '{file.LocalPath}': {ex.Message}", file.LocalPath, ex));
        }
        var temp = TempPathOf(final);
        var hash = SHA512.HashData(data);
        try
        {
            var back = await requests.WriteAndReadBackAsync(temp, data, file.UnixMode, mtime, atime, ct).ConfigureAwait(false);
            if (!SHA512.HashData(back).AsSpan().SequenceEqual(hash))
                throw new HpcException("RemoteChecksumMismatch", HpcErrorKind.InvalidData, $"SHA-512 of remote '{temp}' differs from the local file.", final);
            await requests.RenameOverAsync(temp, final, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // a failed delivery leaves no temp file behind unless the connection itself is gone
            try { await requests.RemoveAsync(temp, ct).ConfigureAwait(false); } catch (Exception) { }
            throw;
        }
        return new BatchOutcome(new SendResult(data.Length, Convert.ToBase64String(hash), false, final), null);
    }

    /// <summary>True when the last Send used the accelerator program.</summary>
    public bool LastSendAccelerated { get; private set; }

    /// <summary>Copies with scp or rsync to the temp name, with the same key and known_hosts checking (BatchMode, StrictHostKeyChecking=yes).</summary>
    private void RunAccelerator(string localPath, string remoteTemp, CancellationToken ct)
    {
        var program = _endpoint.Accelerator!;
        var kind = Path.GetFileNameWithoutExtension(program).ToLowerInvariant();
        var sshOptions = new List<string> { "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes" };
        if (_endpoint.KeyFile is not null) sshOptions.AddRange(new[] { "-i", _endpoint.KeyFile });
        if (_endpoint.KnownHostsFile is not null) sshOptions.AddRange(new[] { "-o", "UserKnownHostsFile=" + _endpoint.KnownHostsFile });
        var target = $"{_endpoint.User}@{(_endpoint.Host.Contains(':') ? "[" + _endpoint.Host + "]" : _endpoint.Host)}:{remoteTemp}";
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (kind == "rsync")
        {
            var ssh = "ssh -p " + _endpoint.Port + " " + string.Join(' ', sshOptions.Select(o => o.Contains(' ') ? ShellQuote(o) : o));
            foreach (var a in new[] { "-q", "--inplace", "-e", ssh, "--", localPath, target }) psi.ArgumentList.Add(a);
        }
        else
        {
            foreach (var a in new[] { "-q", "-B", "-P", _endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(sshOptions).Concat(new[] { "--", localPath, target }))
                psi.ArgumentList.Add(a);
        }
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new HpcException("AcceleratorFailed", HpcErrorKind.InvalidOperation, $"Cannot run accelerator '{program}': {ex.Message}", localPath, ex);
        }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync(ct);
            p.StandardOutput.ReadToEndAsync(ct);
            try { p.WaitForExitAsync(ct).GetAwaiter().GetResult(); }
            catch (OperationCanceledException)
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw;
            }
            if (p.ExitCode != 0)
                throw new HpcException("AcceleratorFailed", HpcErrorKind.InvalidOperation,
                    $"{kind} exited with {p.ExitCode} for '{localPath}': {stderr.GetAwaiter().GetResult().Trim()}", localPath);
        }
    }

    /// <summary>Removes the remote file; absent is success.</summary>
    public bool Remove(string relPath)
    {
        var sftp = Session();
        var final = RemotePathOf(relPath);
        return Guard(() =>
        {
            var attrs = TryAttributes(sftp, final);
            if (attrs is null) return false;
            if (attrs.IsDirectory) sftp.DeleteDirectory(final);
            else sftp.DeleteFile(final);
            return true;
        }, final);
    }

    /// <summary>Below this size reading the file back over the open SFTP session is cheaper than starting sha512sum.</summary>
    public const long ReadBackBelow = 1024 * 1024;

    /// <summary>SHA-512 (base64) of a remote file: sha512sum over SSH, or (small files, no sha512sum, ReadBack mode) the file read back over SFTP.</summary>
    public string RemoteSha512(string remotePath, long size = long.MaxValue)
    {
        if (size >= ReadBackBelow && Exec() is { } ssh)
        {
            using var cmd = ssh.CreateCommand("sha512sum -b -- " + ShellQuote(remotePath));
            cmd.CommandTimeout = TimeSpan.FromMinutes(30);
            var output = cmd.Execute();
            if (cmd.ExitStatus == 0 && output.Length >= 128)
                return Convert.ToBase64String(Convert.FromHexString(output[..128]));
            if (cmd.ExitStatus == 127) _execBroken = true;   // no sha512sum there: read back from now on
            else if (cmd.ExitStatus is not null && cmd.ExitStatus != 0)
                throw new HpcException("RemoteChecksumFailed", HpcErrorKind.InvalidOperation, $"sha512sum on the remote host failed: {cmd.Error.Trim()}", remotePath);
        }
        using var sha = SHA512.Create();
        using (var sink = new CryptoStream(Stream.Null, sha, CryptoStreamMode.Write))
            Session().DownloadFile(remotePath, sink);
        return Convert.ToBase64String(sha.Hash!);
    }

    private SftpClient Session()
    {
        if (!IsConnected) Connect();
        return _sftp!;
    }

    private T Guard<T>(Func<T> work, string target)
    {
        try
        {
            return work();
        }
        catch (Exception ex) when (ex is not HpcException and not OperationCanceledException && Classify(ex, target) is { } classified)
        {
            throw classified;
        }
    }

    /// <summary>A lost connection (kind ConnectionError, after which the session is dropped) or a failure of this one file.</summary>
    private HpcException? Classify(Exception ex, string target, bool disconnect = true)
    {
        switch (ex)
        {
            case HpcException h:
                return h;
            case SshConnectionException or SocketException or SshOperationTimeoutException or ObjectDisposedException or ProxyException:
            case IOException or SshException when !ex.GetType().Name.StartsWith("Sftp", StringComparison.Ordinal) && !SessionAlive():
                if (disconnect) Disconnect();
                return new HpcException("SshConnectionLost", HpcErrorKind.ConnectionError, $"Connection to {_endpoint.Host}:{_endpoint.Port} lost: {ex.Message}", target, ex);
            case SftpPermissionDeniedException:
                return new HpcException("RemotePermissionDenied", HpcErrorKind.PermissionDenied, $"Permission denied on '{target}': {ex.Message}", target, ex);
            case SshException or IOException:
                return new HpcException("RemoteOperationFailed", HpcErrorKind.InvalidOperation, $"SFTP failed on '{target}': {ex.Message}", target, ex);
            default:
                return null;
        }
    }

    /// <summary>After an ambiguous error: does the session still answer? (IsConnected lags behind a dropped socket.)</summary>
    private bool SessionAlive()
    {
        if (_sftp is not { IsConnected: true } sftp) return false;
        try
        {
            sftp.GetAttributes(".");
            return true;
        }
        catch (Exception ex) when (ex is SshException or IOException or SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private void MakeDirectories(SftpClient sftp, string dir)
    {
        if (dir.Length == 0 || _knownDirectories.Contains(dir)) return;
        var parts = dir.Split('/');
        var path = dir.StartsWith('/') ? "" : null;
        foreach (var p in parts)
        {
            if (p.Length == 0) continue;
            path = path is null ? p : path + "/" + p;
            if (_knownDirectories.Contains(path)) continue;
            var attrs = TryAttributes(sftp, path);
            if (attrs is null)
            {
                try { sftp.CreateDirectory(path); }
                catch (SshException) when (TryAttributes(sftp, path) is { IsDirectory: true }) { }
            }
            else if (!attrs.IsDirectory)
                throw new HpcException("RemotePathNotDirectory", HpcErrorKind.InvalidOperation, $"Remote '{path}' exists and is not a folder.", path);
            _knownDirectories.Add(path);
        }
    }

    private static SftpFileAttributes? TryAttributes(SftpClient sftp, string path)
    {
        try { return sftp.GetAttributes(path); }
        catch (SftpPathNotFoundException) { return null; }
    }

    private static long WholeSeconds(DateTime t) => t.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond;

    public static string ShellQuote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Hashes (SHA-512) and counts the bytes read; honours cancellation between chunks.</summary>
    private sealed class HashingReadStream : Stream
    {
        private readonly Stream _inner;
        private readonly CancellationToken _ct;
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        public HashingReadStream(Stream inner, CancellationToken ct) { _inner = inner; _ct = ct; }
        public long Count { get; private set; }
        public string HashBase64() => Convert.ToBase64String(_hash.GetHashAndReset());
        public override int Read(byte[] buffer, int offset, int count)
        {
            _ct.ThrowIfCancellationRequested();
            var n = _inner.Read(buffer, offset, count);
            _hash.AppendData(buffer, offset, n);
            Count += n;
            return n;
        }
        protected override void Dispose(bool disposing)
        {
            if (disposing) _hash.Dispose();
            base.Dispose(disposing);
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
