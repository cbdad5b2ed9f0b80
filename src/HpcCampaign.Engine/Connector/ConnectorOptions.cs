using HpcCampaign.Engine.Transfer;
namespace HpcCampaign.Engine.Connector;

/// <summary>How a connector runs. Paths are absolute; secrets are UTF-8 bytes that the connector copies and clears.</summary>
public sealed record ConnectorOptions
{
    public const int DefaultPort = 30000;

    public int Port { get; init; } = DefaultPort;
    /// <summary>hosts.yaml; re-read when it changes.</summary>
    public string HostsFile { get; init; } = Config.ConfigPaths.HostsFile;
    public string KeysDirectory { get; init; } = Config.ConfigPaths.KeysDirectory;
    /// <summary>Where the state file (port, process, start time) goes so other processes can see the connector.</summary>
    public string StateDirectory { get; init; } = Config.ConfigPaths.StateDirectory;
    /// <summary>known_hosts files checked for SSH host keys; default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.</summary>
    public IReadOnlyList<string> KnownHostsFiles { get; init; } = KnownHosts.DefaultFiles;
    /// <summary>User name for services without `user` (from -Credential).</summary>
    public string? SshUser { get; init; }
    /// <summary>Password or passcode for services with password/passcode authentication (from -Credential).</summary>
    public byte[]? SshPassword { get; init; }
    /// <summary>The ssh-agent socket for public-key logins; default $SSH_AUTH_SOCK. Null or missing: no agent.</summary>
    public string? AgentSocket { get; init; } = Environment.GetEnvironmentVariable("SSH_AUTH_SOCK");
    /// <summary>First port tried for tunnels when the request names none (spec: 28000, 2000 tries).</summary>
    public int FirstLocalPort { get; init; } = 28000;
    public int LocalPortAttempts { get; init; } = 2000;
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long the remote service may take to print its `port:...` line.</summary>
    public TimeSpan ServiceStartTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How long a client may take to send its request.</summary>
    public TimeSpan RequestReadTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public int MaxConcurrentRequests { get; init; } = 256;
    /// <summary>Write one verbose line per request (never a key or cookie).</summary>
    public bool LogRequests { get; init; }
}
