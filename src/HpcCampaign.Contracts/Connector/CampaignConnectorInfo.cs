namespace HpcCampaign;

/// <summary>
/// A snapshot of a campaign connector: where it listens, which keys it serves (ids only, never the keys) and its
/// open tunnels. A connector of another PowerShell process is known from its state file only: no tunnels, no keys.
/// </summary>
public sealed class CampaignConnectorInfo
{
    public CampaignConnectorInfo(string address, int port, int processId, DateTimeOffset startTime, bool isCurrentProcess,
        string state, string? hostsFile, string? keysDirectory, IReadOnlyList<string> keyIds,
        IReadOnlyList<CampaignTunnelInfo> tunnels, long requestCount, long failedRequestCount)
    {
        Address = address;
        Port = port;
        ProcessId = processId;
        StartTime = startTime;
        IsCurrentProcess = isCurrentProcess;
        State = state;
        HostsFile = hostsFile;
        KeysDirectory = keysDirectory;
        KeyIds = keyIds;
        Tunnels = tunnels;
        RequestCount = requestCount;
        FailedRequestCount = failedRequestCount;
    }

    /// <summary>Always 127.0.0.1: the connector never listens on other interfaces.</summary>
    public string Address { get; }
    public int Port { get; }
    public int ProcessId { get; }
    public DateTimeOffset StartTime { get; }
    /// <summary>False for a connector running in another process (seen through its state file).</summary>
    public bool IsCurrentProcess { get; }
    /// <summary>"Running" or "Stopped"; "RunningInOtherProcess" for a connector of another process.</summary>
    public string State { get; }
    public string? HostsFile { get; }
    public string? KeysDirectory { get; }
    /// <summary>Ids of the keys it serves on get_key; the keys themselves are never shown.</summary>
    public IReadOnlyList<string> KeyIds { get; }
    public IReadOnlyList<CampaignTunnelInfo> Tunnels { get; }
    public long RequestCount { get; }
    public long FailedRequestCount { get; }
    public override string ToString() => $"{Address}:{Port}";
}

/// <summary>One tunnel a connector holds open: local port → SSH host → destination (or the reverse).</summary>
public sealed class CampaignTunnelInfo
{
    public CampaignTunnelInfo(string kind, string? group, string? service, string sshHost, int localPort,
        string destinationHost, int remotePort, bool isTransient, DateTimeOffset created, int activeConnections,
        long totalConnections, long bytesSent, long bytesReceived)
    {
        Kind = kind;
        Group = group;
        Service = service;
        SshHost = sshHost;
        LocalPort = localPort;
        DestinationHost = destinationHost;
        RemotePort = remotePort;
        IsTransient = isTransient;
        Created = created;
        ActiveConnections = activeConnections;
        TotalConnections = totalConnections;
        BytesSent = bytesSent;
        BytesReceived = bytesReceived;
    }

    /// <summary>"Service" (run_service), "Port" (connect_port) or "Reverse" (reverse).</summary>
    public string Kind { get; }
    /// <summary>The hosts.yaml host (group) the request named, if any.</summary>
    public string? Group { get; }
    public string? Service { get; }
    /// <summary>The SSH server the tunnel goes through (user@host:port).</summary>
    public string SshHost { get; }
    /// <summary>The port on 127.0.0.1 (for Reverse: the local destination port).</summary>
    public int LocalPort { get; }
    /// <summary>Where the SSH server connects to (for Reverse: the local destination host).</summary>
    public string DestinationHost { get; }
    /// <summary>The port at the far end (for Reverse: the port the SSH server listens on).</summary>
    public int RemotePort { get; }
    public bool IsTransient { get; }
    public DateTimeOffset Created { get; }
    public TimeSpan Age => DateTimeOffset.UtcNow - Created;
    public int ActiveConnections { get; }
    public long TotalConnections { get; }
    /// <summary>Bytes from the local side towards the remote side.</summary>
    public long BytesSent { get; }
    /// <summary>Bytes from the remote side back to the local side.</summary>
    public long BytesReceived { get; }
    public override string ToString() => $"{Kind} {LocalPort} -> {SshHost} -> {DestinationHost}:{RemotePort}";
}
