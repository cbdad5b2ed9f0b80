using HpcCampaign.Engine.Transfer;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using HpcCampaign.Engine.Config;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace HpcCampaign.Engine.Connector;

/// <summary>Where and how to log in over SSH (from a hosts.yaml service or a connect_port request).</summary>
public sealed record SshEndpoint(string Host, int Port, string User, string Authentication, string? IdentityFile, SshEndpoint? Jump)
{
    public string Label => $"{User}@{Host}:{Port}" + (Jump is null ? "" : $" via {Jump.Host}:{Jump.Port}");
    public string CacheKey => $"{User}@{Host}:{Port}|{Authentication}|{IdentityFile}|{Jump?.CacheKey}";

    public static readonly string[] SupportedAuthentication = { "publickey", "password", "passcode" };
}

/// <summary>
/// SSH sessions of a connector, one per endpoint, reused by every tunnel to that endpoint (the original cached them
/// by host and user). Host keys are checked against known_hosts; unknown or changed keys are refused.
/// </summary>
public sealed class SshConnections : IDisposable
{
    private readonly IReadOnlyList<string> _knownHostsFiles;
    private readonly string? _credentialUser;
    private readonly byte[]? _credentialPassword;
    private readonly TimeSpan _connectTimeout;
    private readonly ConcurrentDictionary<string, Lazy<SemaphoreSlim>> _locks = new();
    private readonly ConcurrentDictionary<string, Session> _sessions = new();
    private bool _disposed;

    private readonly string? _agentSocket;

    public SshConnections(IReadOnlyList<string> knownHostsFiles, string? credentialUser, byte[]? credentialPassword, TimeSpan connectTimeout,
        string? agentSocket = null)
    {
        _agentSocket = agentSocket;
        _knownHostsFiles = knownHostsFiles;
        _credentialUser = string.IsNullOrEmpty(credentialUser) ? null : credentialUser;
        _credentialPassword = credentialPassword is { Length: > 0 } ? (byte[])credentialPassword.Clone() : null;
        _connectTimeout = connectTimeout;
    }

    /// <summary>The user name for a service without `user`: the credential's, else the local user's.</summary>
    public string DefaultUser => _credentialUser ?? Environment.UserName;

    /// <summary>A connected client for the endpoint, connecting (once, even with concurrent callers) when needed.</summary>
    public async Task<SshClient> GetAsync(SshEndpoint endpoint, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var key = endpoint.CacheKey;
        if (_sessions.TryGetValue(key, out var live) && live.IsConnected) return live.Client;
        var gate = _locks.GetOrAdd(key, _ => new Lazy<SemaphoreSlim>(() => new SemaphoreSlim(1, 1))).Value;
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_sessions.TryGetValue(key, out live))
            {
                if (live.IsConnected) return live.Client;
                _sessions.TryRemove(key, out _);
                live.Dispose();
            }
            var session = await ConnectAsync(endpoint, ct).ConfigureAwait(false);
            _sessions[key] = session;
            return session.Client;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<Session> ConnectAsync(SshEndpoint endpoint, CancellationToken ct)
    {
        SshClient? jumpClient = null;
        ForwardedPortLocal? jumpForward = null;
        try
        {
            string connectHost = endpoint.Host;
            int connectPort = endpoint.Port;
            if (endpoint.Jump is not null)
            {
                // the jump session forwards a private loopback port to the target's SSH port; the target's host key is
                // still checked under the target's own name
                jumpClient = await ConnectClientAsync(endpoint.Jump, endpoint.Jump.Host, endpoint.Jump.Port, ct).ConfigureAwait(false);
                jumpForward = new ForwardedPortLocal("127.0.0.1", 0, endpoint.Host, (uint)endpoint.Port);
                jumpClient.AddForwardedPort(jumpForward);
                jumpForward.Start();
                connectHost = "127.0.0.1";
                connectPort = (int)jumpForward.BoundPort;
            }
            var client = await ConnectClientAsync(endpoint, connectHost, connectPort, ct).ConfigureAwait(false);
            return new Session(client, jumpClient, jumpForward);
        }
        catch
        {
            jumpForward?.Dispose();
            jumpClient?.Dispose();
            throw;
        }
    }

    private async Task<SshClient> ConnectClientAsync(SshEndpoint endpoint, string connectHost, int connectPort, CancellationToken ct)
    {
        var methods = AuthenticationMethods(endpoint);
        var info = new ConnectionInfo(connectHost, connectPort, endpoint.User, methods.ToArray()) { Timeout = _connectTimeout };
        // read for every login, so a key accepted with ssh meanwhile counts without a restart
        var knownHosts = new KnownHosts(_knownHostsFiles);
        PreferKnownHostKeyTypes(info, endpoint, knownHosts);
        var client = new SshClient(info) { KeepAliveInterval = TimeSpan.FromSeconds(30) };
        HostKeyVerdict? verdict = null;
        string? fingerprint = null;
        client.HostKeyReceived += (_, e) =>
        {
            fingerprint = KnownHosts.Fingerprint(e.HostKey);
            verdict = knownHosts.Verify(endpoint.Host, endpoint.Port, e.HostKey);
            e.CanTrust = verdict == HostKeyVerdict.Trusted;
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_connectTimeout);
        try
        {
            await client.ConnectAsync(timeout.Token).ConfigureAwait(false);
            return client;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            client.Dispose();
            foreach (var m in methods) (m as IDisposable)?.Dispose();
            throw Translate(ex, endpoint, verdict, fingerprint, knownHosts);
        }
    }

    private static HpcException Translate(Exception ex, SshEndpoint endpoint, HostKeyVerdict? verdict, string? fingerprint, KnownHosts knownHosts)
    {
        var where = endpoint.Label;
        var files = knownHosts.Files.Count == 0 ? "no known_hosts file was found" : "checked " + string.Join(", ", knownHosts.Files);
        return verdict switch
        {
            HostKeyVerdict.Mismatch => new HpcException("HostKeyMismatch", HpcErrorKind.PermissionDenied,
                $"The host key of {where} ({fingerprint}) does not match the one recorded in known_hosts ({files}). " +
                "Connection refused: the server may have been replaced, or someone is intercepting the connection.", where, ex)
            { RecommendedAction = "Check the server's host key with its administrators; if it really changed, update known_hosts (ssh-keygen -R)." },
            HostKeyVerdict.Unknown => new HpcException("HostKeyUnknown", HpcErrorKind.PermissionDenied,
                $"The host key of {where} ({fingerprint}) is not in known_hosts ({files}); the connector does not add unknown keys.", where, ex)
            { RecommendedAction = $"Connect once with ssh -p {endpoint.Port} {endpoint.User}@{endpoint.Host}, check the fingerprint and accept it, or give -KnownHostsFile." },
            HostKeyVerdict.Revoked => new HpcException("HostKeyRevoked", HpcErrorKind.PermissionDenied,
                $"The host key of {where} ({fingerprint}) is marked @revoked in known_hosts.", where, ex),
            _ => ex switch
            {
                HpcException h => h,
                SshAuthenticationException => new HpcException("SshAuthenticationFailed", HpcErrorKind.AuthenticationError,
                    $"{where} refused the login ({endpoint.Authentication}): {ex.Message}", where, ex),
                OperationCanceledException or SshOperationTimeoutException => new HpcException("SshConnectTimeout", HpcErrorKind.OperationTimeout,
                    $"Connecting to {where} timed out.", where, ex),
                _ => new HpcException("SshConnectionFailed", HpcErrorKind.ConnectionError, $"Cannot connect to {where}: {ex.Message}", where, ex),
            },
        };
    }

    /// <summary>Offers only the host key types known_hosts has for this host, so the server presents a key we can check.</summary>
    private static void PreferKnownHostKeyTypes(ConnectionInfo info, SshEndpoint endpoint, KnownHosts knownHosts)
    {
        var known = knownHosts.KeyTypesFor(endpoint.Host, endpoint.Port);
        if (known.Count == 0) return;
        var algorithms = info.HostKeyAlgorithms;
        var keep = algorithms.Keys.Where(a => known.Contains(KeyTypeOf(a))).ToList();
        if (keep.Count == 0) return;
        foreach (var a in algorithms.Keys.ToList())
            if (!keep.Contains(a)) algorithms.Remove(a);
    }

    private static string KeyTypeOf(string algorithm) => algorithm switch
    {
        "rsa-sha2-512" or "rsa-sha2-256" => "ssh-rsa",
        _ => algorithm,
    };

    private List<AuthenticationMethod> AuthenticationMethods(SshEndpoint endpoint)
    {
        var methods = new List<AuthenticationMethod>();
        switch (endpoint.Authentication)
        {
            case "publickey":
                var keys = LoadIdentities(endpoint);
                methods.Add(new PrivateKeyAuthenticationMethod(endpoint.User, keys.ToArray()));
                break;
            case "password":
            case "passcode":
                if (_credentialPassword is null)
                    throw new HpcException("SshPasswordRequired", HpcErrorKind.AuthenticationError,
                        $"{endpoint.Label} uses {endpoint.Authentication} authentication, and the connector was started without a credential.",
                        endpoint.Label)
                    { RecommendedAction = "Restart the connector with -Credential (or answer its prompt)." };
                methods.Add(new PasswordAuthenticationMethod(endpoint.User, (byte[])_credentialPassword.Clone()));
                // one-time passcodes and many password logins arrive as keyboard-interactive prompts
                var interactive = new KeyboardInteractiveAuthenticationMethod(endpoint.User);
                var answer = Encoding.UTF8.GetString(_credentialPassword);
                interactive.AuthenticationPrompt += (_, e) =>
                {
                    foreach (var prompt in e.Prompts) prompt.Response = answer;
                };
                methods.Add(interactive);
                break;
            default:
                throw new HpcException("UnsupportedAuthentication", HpcErrorKind.InvalidData,
                    $"Authentication '{endpoint.Authentication}' of {endpoint.Label} is not one of {string.Join(", ", SshEndpoint.SupportedAuthentication)}.", endpoint.Label);
        }
        return methods;
    }

    private List<IPrivateKeySource> LoadIdentities(SshEndpoint endpoint)
    {
        var candidates = endpoint.IdentityFile is { Length: > 0 } file
            ? new[] { ConfigPaths.ExpandHome(file) }
            : new[] { "id_ed25519", "id_ecdsa", "id_rsa" }.Select(n => Path.Combine(ConfigPaths.Home, ".ssh", n)).Where(File.Exists).ToArray();
        // like ssh and paramiko: the identity files first, then whatever the agent holds
        var agentKeys = SshAgentKeys.Load(_agentSocket);
        if (candidates.Length == 0 && agentKeys.Count == 0)
            throw new HpcException("SshIdentityNotFound", HpcErrorKind.ObjectNotFound,
                $"{endpoint.Label} uses publickey authentication, and there is no identity_file, no ~/.ssh/id_ed25519, id_ecdsa or id_rsa, and no ssh-agent key.", endpoint.Label);
        var keys = new List<IPrivateKeySource>();
        foreach (var path in candidates)
        {
            if (!File.Exists(path))
                throw new HpcException("SshIdentityNotFound", HpcErrorKind.ObjectNotFound, $"The identity file '{path}' of {endpoint.Label} does not exist.", path);
            try
            {
                keys.Add(new PrivateKeyFile(path));
            }
            catch (SshPassPhraseNullOrEmptyException) when (_credentialPassword is not null)
            {
                // a passphrase-protected identity: the credential's password is its passphrase
                try
                {
                    keys.Add(new PrivateKeyFile(path, Encoding.UTF8.GetString(_credentialPassword)));
                }
                catch (SshException ex)
                {
                    throw new HpcException("SshIdentityLocked", HpcErrorKind.AuthenticationError,
                        $"The credential's password does not unlock the identity file '{path}': {ex.Message}", path, ex);
                }
            }
            catch (SshPassPhraseNullOrEmptyException ex)
            {
                throw new HpcException("SshIdentityLocked", HpcErrorKind.AuthenticationError,
                    $"The identity file '{path}' has a passphrase; start the connector with -Credential to give it.", path, ex);
            }
            catch (Exception ex) when (ex is SshException or InvalidOperationException or IOException or ArgumentException or CryptographicException)
            {
                throw new HpcException("SshIdentityInvalid", HpcErrorKind.InvalidData, $"Cannot read the identity file '{path}': {ex.Message}", path, ex);
            }
        }
        keys.AddRange(agentKeys);
        return keys;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _sessions.Values) s.Dispose();
        _sessions.Clear();
        if (_credentialPassword is not null) CryptographicOperations.ZeroMemory(_credentialPassword);
    }

    private sealed class Session : IDisposable
    {
        public Session(SshClient client, SshClient? jumpClient, ForwardedPortLocal? jumpForward)
        {
            Client = client;
            JumpClient = jumpClient;
            JumpForward = jumpForward;
        }

        public SshClient Client { get; }
        public SshClient? JumpClient { get; }
        public ForwardedPortLocal? JumpForward { get; }
        public bool IsConnected => Client.IsConnected && (JumpClient is null || JumpClient.IsConnected);

        public void Dispose()
        {
            try { Client.Dispose(); } catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException) { }
            try { JumpForward?.Dispose(); } catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException) { }
            try { JumpClient?.Dispose(); } catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException) { }
        }
    }
}
