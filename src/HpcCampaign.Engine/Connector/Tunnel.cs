using System.Net.Sockets;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace HpcCampaign.Engine.Connector;

/// <summary>
/// One open tunnel. Service/Port: 127.0.0.1:LocalPort (our relay) → SSH.NET local forward on a private loopback
/// port → direct-tcpip through the SSH server to DestinationHost:RemotePort. Reverse: the SSH server listens on
/// RemotePort → our relay on a private loopback port → DestinationHost:LocalPort here.
/// </summary>
internal sealed class Tunnel : IAsyncDisposable
{
    private readonly SshClient _client;
    private readonly ForwardedPort _forward;
    private readonly RelayListener _relay;
    private readonly SshCommand? _remoteService;
    private int _disposed;

    private Tunnel(string key, string kind, string? group, string? service, string sshLabel, string destinationHost,
        int localPort, int remotePort, bool transient, string? cookie, SshClient client, ForwardedPort forward,
        RelayListener relay, SshCommand? remoteService)
    {
        Key = key;
        Kind = kind;
        Group = group;
        Service = service;
        SshLabel = sshLabel;
        DestinationHost = destinationHost;
        LocalPort = localPort;
        RemotePort = remotePort;
        IsTransient = transient;
        Cookie = cookie;
        _client = client;
        _forward = forward;
        _relay = relay;
        _remoteService = remoteService;
    }

    public string Key { get; }
    public string Kind { get; }
    public string? Group { get; }
    public string? Service { get; }
    public string SshLabel { get; }
    public string DestinationHost { get; }
    public int LocalPort { get; }
    public int RemotePort { get; }
    public bool IsTransient { get; }
    /// <summary>The remote service's cookie, handed to ADIOS in the reply; never shown or logged.</summary>
    public string? Cookie { get; }
    public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;
    /// <summary>Open, with its SSH session up (it may still carry connections after it stopped accepting).</summary>
    public bool IsAlive => Volatile.Read(ref _disposed) == 0 && !_relay.IsDisposed && _client.IsConnected && _forward.IsStarted;
    /// <summary>Alive and taking new connections: a request for the same tunnel can reuse it.</summary>
    public bool CanAccept => IsAlive && _relay.IsAccepting;
    public Task FirstConnectionDone => _relay.FirstConnectionDone;

    public CampaignTunnelInfo ToInfo() => new(Kind, Group, Service, SshLabel, LocalPort, DestinationHost, RemotePort, IsTransient,
        Created, _relay.ActiveConnections, _relay.TotalConnections, _relay.BytesSent, _relay.BytesReceived);

    /// <summary>Local forward through <paramref name="client"/>; <paramref name="listener"/> is the already-bound public port.</summary>
    public static Tunnel OpenLocal(string key, string kind, string? group, string? service, string sshLabel, SshClient client,
        Socket listener, string destinationHost, int destinationPort, bool transient, string? cookie, SshCommand? remoteService)
    {
        var forward = new ForwardedPortLocal("127.0.0.1", 0, destinationHost, (uint)destinationPort);
        try
        {
            client.AddForwardedPort(forward);
            forward.Start();
        }
        catch
        {
            TryRemove(client, forward);
            listener.Dispose();
            throw;
        }
        var privatePort = (int)forward.BoundPort;
        var relay = new RelayListener(listener, ct => RelayListener.ConnectAsync("127.0.0.1", privatePort, ct), transient);
        relay.Start();
        return new Tunnel(key, kind, group, service, sshLabel, destinationHost, relay.Port, destinationPort, transient, cookie,
            client, forward, relay, remoteService);
    }

    /// <summary>Remote forward: the SSH server listens on 127.0.0.1:<paramref name="remotePort"/> and sends connections here.</summary>
    public static Tunnel OpenReverse(string key, string? group, string? service, string sshLabel, SshClient client,
        int remotePort, string destinationHost, int destinationPort)
    {
        var relay = new RelayListener(RelayListener.BindLoopback(0),
            ct => RelayListener.ConnectAsync(destinationHost, destinationPort, ct), closeAfterFirstConnection: false);
        var forward = new ForwardedPortRemote("127.0.0.1", (uint)remotePort, "127.0.0.1", (uint)relay.Port);
        try
        {
            client.AddForwardedPort(forward);
            forward.Start();
        }
        catch
        {
            TryRemove(client, forward);
            relay.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        relay.Start();
        return new Tunnel(key, "Reverse", group, service, sshLabel, destinationHost, destinationPort, remotePort, false, null,
            client, forward, relay, null);
    }

    private static void TryRemove(SshClient client, ForwardedPort forward)
    {
        try
        {
            if (forward.IsStarted) forward.Stop();
            client.RemoveForwardedPort(forward);
        }
        catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException) { }
        forward.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _relay.DisposeAsync().ConfigureAwait(false);
        TryRemove(_client, _forward);
        if (_remoteService is not null)
        {
            try { _remoteService.Dispose(); }
            catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException) { }
        }
    }
}
