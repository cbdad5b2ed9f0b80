using HpcCampaign.Engine.Transfer;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace HpcCampaign.Engine.Rucio;

/// <summary>
/// ssh.Default over SFTP (SSH.NET): the worker keeps one connection; each file goes to {path}.rucio.upload and is
/// renamed; the stat is the SFTP size plus md5sum run on the server (like Rucio's ssh protocol). The host key must
/// be in the known_hosts file.
/// </summary>
public sealed class SftpStorage : IRucioStorage
{
    private readonly RseProtocol _protocol;
    private readonly StorageCredentials _credentials;
    private SftpClient? _sftp;
    private SshClient? _ssh;
    private volatile bool _hostKeyRejected;

    public SftpStorage(RseProtocol protocol, StorageCredentials credentials)
    {
        _protocol = protocol;
        _credentials = credentials;
    }

    private ConnectionInfo Connection()
    {
        var key = _credentials.SshKeyFile;
        if (key is null || !File.Exists(key))
            throw new HpcException("SshKeyNotFound", HpcErrorKind.ObjectNotFound, $"The SSH key '{key}' for the RSE storage does not exist ([storage] ssh_private_key).", key);
        var user = _credentials.SshUser ?? Environment.UserName;
        return new ConnectionInfo(_protocol.Hostname, _protocol.Port == 0 ? 22 : _protocol.Port, user,
            new PrivateKeyAuthenticationMethod(user, new PrivateKeyFile(key)));
    }

    private void VerifyHostKey(object? sender, HostKeyEventArgs e)
    {
        e.CanTrust = _credentials.SshKnownHosts is { } file
            && new KnownHosts(new[] { file }).Verify(_protocol.Hostname, _protocol.Port == 0 ? 22 : _protocol.Port, e.HostKey) == HostKeyVerdict.Trusted;
        if (!e.CanTrust) _hostKeyRejected = true;
    }

    private async Task<T> ConnectedAsync<T>(T? existing, Func<ConnectionInfo, T> make, CancellationToken ct) where T : BaseClient
    {
        if (existing is { IsConnected: true }) return existing;
        existing?.Dispose();
        var client = make(Connection());
        client.HostKeyReceived += VerifyHostKey;
        try
        {
            await client.ConnectAsync(ct).ConfigureAwait(false);
        }
        catch (SshConnectionException ex) when (_hostKeyRejected)
        {
            client.Dispose();
            throw new HpcException("HostKeyMismatch", HpcErrorKind.PermissionDenied,
                $"The host key of {_protocol.Hostname}:{_protocol.Port} is not in '{_credentials.SshKnownHosts}' (or differs).", _protocol.Hostname, ex);
        }
        catch (SshAuthenticationException ex)
        {
            client.Dispose();
            throw new HpcException("StorageAuthenticationFailed", HpcErrorKind.AuthenticationError, $"SSH login to {_protocol.Hostname}:{_protocol.Port} failed: {ex.Message}", _protocol.Hostname, ex);
        }
        return client;
    }

    private static string RemotePath(string pfn) => Uri.UnescapeDataString(new Uri(pfn).AbsolutePath);

    public async Task PutAsync(Stream src, string pfn, CancellationToken ct)
    {
        var sftp = _sftp = await ConnectedAsync(_sftp, c => new SftpClient(c), ct).ConfigureAwait(false);
        var target = RemotePath(pfn);
        var temp = target + ".rucio.upload";
        await Task.Run(() =>
        {
            MakeDirectories(sftp, target[..target.LastIndexOf('/')]);
            if (sftp.Exists(temp)) sftp.DeleteFile(temp);
            src.Position = 0;
            sftp.UploadFile(src, temp, canOverride: true);
            if (sftp.Exists(target)) sftp.DeleteFile(target);
            sftp.RenameFile(temp, target);
        }, ct).ConfigureAwait(false);
    }

    private static void MakeDirectories(SftpClient sftp, string dir)
    {
        if (dir.Length == 0 || sftp.Exists(dir)) return;
        MakeDirectories(sftp, dir[..Math.Max(0, dir.LastIndexOf('/'))]);
        try { sftp.CreateDirectory(dir); }
        catch (SshException) when (sftp.Exists(dir)) { } // another worker made it
    }

    public async Task<RemoteStat?> StatAsync(string pfn, CancellationToken ct)
    {
        var sftp = _sftp = await ConnectedAsync(_sftp, c => new SftpClient(c), ct).ConfigureAwait(false);
        var path = RemotePath(pfn);
        long size;
        try { size = await Task.Run(() => sftp.GetAttributes(path).Size, ct).ConfigureAwait(false); }
        catch (SftpPathNotFoundException) { return null; }
        var ssh = _ssh = await ConnectedAsync(_ssh, c => new SshClient(c), ct).ConfigureAwait(false);
        var md5 = await Task.Run(() =>
        {
            using var cmd = ssh.RunCommand("md5sum -- '" + path.Replace("'", "'\\''") + "'");
            var first = cmd.Result.Split(' ', 2)[0].Trim();
            return cmd.ExitStatus == 0 && first.Length == 32 ? first.ToLowerInvariant() : null;
        }, ct).ConfigureAwait(false);
        return new RemoteStat(size, null, md5);
    }

    public void Dispose()
    {
        _sftp?.Dispose();
        _ssh?.Dispose();
    }
}
