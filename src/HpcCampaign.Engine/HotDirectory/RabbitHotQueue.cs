using System.Text;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace HpcCampaign.Engine.HotDirectory;

/// <summary>
/// RabbitMQ: a durable topic exchange, one durable queue bound with v03.# shared by all senders (competing consumers,
/// basic.qos prefetch, manual ack), publisher confirms for the watcher. Retries and dead letters are kept in the local
/// store (written before the broker message is acked, so a crash in between re-delivers rather than loses).
/// Reconnects with a doubling back-off (1 s … 30 s) after any broker failure; deliveries from a lost channel are
/// never acked on a new one (the broker re-delivers them and the sender finds them already at the destination).
/// </summary>
public sealed class RabbitHotQueue : IHotQueue
{
    private readonly HotDirectorySettings _settings;
    private readonly HotDirectoryStore _store;
    private readonly Uri _uri;
    private readonly IHpcSink _sink;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly SemaphoreSlim _publishGate = new(1, 1);
    private readonly object _timeGate = new();
    private Channel<HotDelivery>[] _buffers = Array.Empty<Channel<HotDelivery>>();
    private IConnection? _connection;
    private IChannel? _publishChannel;
    private int _senders;
    private DateTime? _disconnectedSince;
    private double _disconnectedTotal;
    private DateTime _nextConnectAttempt = DateTime.MinValue;
    private double _backoffSeconds = 1;
    private CancellationToken _lifetime;
    private TaskCompletionSource<bool>? _pending;
    private ulong _pendingTag;
    private volatile bool _returned;

    private void Confirm(ulong tag, bool multiple, bool ack)
    {
        var p = _pending;
        if (p is not null && (tag == _pendingTag || (multiple && tag >= _pendingTag))) p.TrySetResult(ack);
    }

    public RabbitHotQueue(HotDirectorySettings settings, HotDirectoryStore store, IHpcSink sink)
    {
        _settings = settings;
        _store = store;
        _sink = sink;
        _uri = BrokerCredentials.Resolve(settings.BrokerUrl!, settings.BrokerUser, settings.BrokerPassword, settings.CredentialsFile);
    }

    public string Description => $"RabbitMQ {BrokerCredentials.Mask(_uri.ToString())} exchange {_settings.EffectiveExchange} queue {_settings.EffectiveQueue}";
    public bool Connected => _connection is { IsOpen: true };

    public double DisconnectedSeconds
    {
        get
        {
            lock (_timeGate)
                return _disconnectedTotal + (_disconnectedSince is { } s ? (DateTime.UtcNow - s).TotalSeconds : 0);
        }
    }

    public async Task StartAsync(int senders, CancellationToken ct)
    {
        _lifetime = ct;
        _senders = senders;
        _buffers = Enumerable.Range(0, senders).Select(_ => Channel.CreateUnbounded<HotDelivery>()).ToArray();
        _store.ReleaseAllLeases();
        try
        {
            await ConnectAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not HpcException)
        {
            throw Classify(ex);
        }
    }

    private HpcException Classify(Exception ex)
    {
        var target = BrokerCredentials.Mask(_uri.ToString());
        return ex switch
        {
            BrokerUnreachableException { InnerException: AuthenticationFailureException } =>
                new HpcException("BrokerAuthenticationFailed", HpcErrorKind.AuthenticationError, $"The broker {target} refused the login.", target, ex),
            BrokerUnreachableException =>
                new HpcException("BrokerUnreachable", HpcErrorKind.ConnectionError, $"Cannot connect to the broker {target}: {ex.InnerException?.Message ?? ex.Message}", target, ex),
            OperationInterruptedException oie =>
                new HpcException("BrokerDeclareFailed", HpcErrorKind.PermissionDenied,
                    $"Declaring exchange '{_settings.EffectiveExchange}' / queue '{_settings.EffectiveQueue}' on {target} failed: {oie.ShutdownReason?.ReplyText ?? oie.Message}", target, ex),
            _ => new HpcException("BrokerUnreachable", HpcErrorKind.ConnectionError, $"Broker {target}: {ex.Message}", target, ex),
        };
    }

    /// <summary>Opens the connection, declares exchange + queue + binding, starts one consumer per sender.</summary>
    private async Task ConnectAsync(CancellationToken ct)
    {
        var factory = new ConnectionFactory
        {
            Uri = _uri,
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            RequestedHeartbeat = TimeSpan.FromSeconds(30),
            ClientProvidedName = $"hpcc-hotdirectory-{_settings.Name}",
        };
        var connection = await factory.CreateConnectionAsync(ct).ConfigureAwait(false);
        try
        {
            // confirms without the library's tracking: tracking adds an x-dotnet-pub-seq-no header, and v03 messages carry none
            var pub = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: false), ct).ConfigureAwait(false);
            pub.BasicAcksAsync += (_, ea) => { Confirm(ea.DeliveryTag, ea.Multiple, true); return Task.CompletedTask; };
            pub.BasicNacksAsync += (_, ea) => { Confirm(ea.DeliveryTag, ea.Multiple, false); return Task.CompletedTask; };
            pub.BasicReturnAsync += (_, _) => { _returned = true; return Task.CompletedTask; };
            pub.ChannelShutdownAsync += (_, _) => { _pending?.TrySetResult(false); return Task.CompletedTask; };
            await pub.ExchangeDeclareAsync(_settings.EffectiveExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: ct).ConfigureAwait(false);
            await pub.QueueDeclareAsync(_settings.EffectiveQueue, durable: true, exclusive: false, autoDelete: false, cancellationToken: ct).ConfigureAwait(false);
            await pub.QueueBindAsync(_settings.EffectiveQueue, _settings.EffectiveExchange, _settings.TopicPrefix + ".#", cancellationToken: ct).ConfigureAwait(false);
            for (var i = 0; i < _senders; i++)
            {
                var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
                await ch.BasicQosAsync(0, (ushort)_settings.Prefetch, false, ct).ConfigureAwait(false);
                var consumer = new AsyncEventingBasicConsumer(ch);
                var buffer = _buffers[i];
                consumer.ReceivedAsync += (_, ea) =>
                {
                    buffer.Writer.TryWrite(new HotDelivery
                    {
                        Body = Encoding.UTF8.GetString(ea.Body.Span),
                        RoutingKey = ea.RoutingKey,
                        Channel = ch,
                        DeliveryTag = ea.DeliveryTag,
                    });
                    return Task.CompletedTask;
                };
                await ch.BasicConsumeAsync(_settings.EffectiveQueue, autoAck: false, consumer, ct).ConfigureAwait(false);
            }
            connection.ConnectionShutdownAsync += (_, _) =>
            {
                MarkDisconnected();
                return Task.CompletedTask;
            };
            _publishChannel = pub;
            _connection = connection;
            lock (_timeGate)
            {
                if (_disconnectedSince is { } s) _disconnectedTotal += (DateTime.UtcNow - s).TotalSeconds;
                _disconnectedSince = null;
            }
            _backoffSeconds = 1;
        }
        catch
        {
            try { await connection.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false); } catch (Exception) { }
            connection.Dispose();
            throw;
        }
    }

    private void MarkDisconnected()
    {
        lock (_timeGate) _disconnectedSince ??= DateTime.UtcNow;
    }

    /// <summary>Reconnects when needed, at most once per back-off period. False while the broker is still away.</summary>
    private async Task<bool> EnsureConnectedAsync()
    {
        if (Connected) return true;
        if (!await _connectGate.WaitAsync(0).ConfigureAwait(false)) return false;
        try
        {
            if (Connected) return true;
            MarkDisconnected();
            if (DateTime.UtcNow < _nextConnectAttempt) return false;
            var old = _connection;
            _connection = null;
            _publishChannel = null;
            if (old is not null) { try { old.Dispose(); } catch (Exception) { } }
            try
            {
                await ConnectAsync(_lifetime).ConfigureAwait(false);
                _sink.Verbose("Reconnected to the broker.");
                return true;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _nextConnectAttempt = DateTime.UtcNow.AddSeconds(_backoffSeconds);
                _backoffSeconds = Math.Min(30, _backoffSeconds * 2);
                _sink.Verbose($"Broker still unavailable ({ex.Message}); next try in {_backoffSeconds:0} s.");
                return false;
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }

    public async Task PublishAsync(string routingKey, string body, CatalogChange? change, CancellationToken ct)
    {
        if (!await EnsureConnectedAsync().ConfigureAwait(false))
            throw new HpcException("BrokerUnavailable", HpcErrorKind.ConnectionError, "The broker is not reachable; the file stays pending.");
        await _publishGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var props = new BasicProperties
            {
                ContentType = "application/json",
                ContentEncoding = "utf-8",
                DeliveryMode = DeliveryModes.Persistent,
                Headers = new Dictionary<string, object?>(),
            };
            var channel = _publishChannel!;
            _returned = false;
            _pendingTag = await channel.GetNextPublishSequenceNumberAsync(ct).ConfigureAwait(false);
            var confirmed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending = confirmed;
            await channel.BasicPublishAsync(_settings.EffectiveExchange, routingKey, mandatory: true, props, Encoding.UTF8.GetBytes(body), ct).ConfigureAwait(false);
            var ok = await confirmed.Task.WaitAsync(TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            _pending = null;
            if (!ok) throw new IOException("the broker did not confirm the message (nack or channel closed)");
            if (_returned) throw new IOException($"the message was unroutable: no queue is bound to exchange '{_settings.EffectiveExchange}' for '{routingKey}'");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _pending = null;
            // a publish channel in an unknown state is not reused: drop the connection, the next call reconnects
            if (_connection is { IsOpen: true } conn)
            {
                try { await conn.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false); } catch (Exception) { }
            }
            MarkDisconnected();
            throw new HpcException("BrokerPublishFailed", HpcErrorKind.ConnectionError, "Publishing to the broker failed: " + ex.Message, null, ex);
        }
        finally
        {
            _publishGate.Release();
        }
        if (change is not null)
        {
            if (change.Forget) _store.ForgetPosted(change.RelPath);
            else _store.MarkPosted(change.RelPath, change.Size, change.MTimeTicks);
        }
    }

    public async Task<HotDelivery?> ReceiveAsync(int sender, TimeSpan wait, CancellationToken ct)
    {
        var retry = _store.Lease();
        if (retry is not null)
            return new HotDelivery { Body = retry.Body, RoutingKey = retry.RoutingKey, Attempts = retry.Attempts, LocalId = retry.Id };
        var reader = _buffers[sender].Reader;
        while (reader.TryRead(out var d))
            if (d.Channel is { IsOpen: true }) return d;   // deliveries of a closed channel are re-delivered by the broker
        await EnsureConnectedAsync().ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(wait);
        try
        {
            while (await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
                while (reader.TryRead(out var d))
                    if (d.Channel is { IsOpen: true }) return d;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
        return null;
    }

    public async Task AckAsync(HotDelivery d)
    {
        if (d.LocalId is { } id)
        {
            _store.Complete(id);
            return;
        }
        if (d.Channel is not { IsOpen: true }) return;
        try { await d.Channel.BasicAckAsync(d.DeliveryTag, false).ConfigureAwait(false); }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException)
        {
            // the broker re-delivers it; the sender will find the file already verified at the destination
        }
    }

    public async Task ReleaseAsync(HotDelivery d)
    {
        if (d.LocalId is { } id)
        {
            _store.Release(id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1000);
            return;
        }
        if (d.Channel is not { IsOpen: true }) return;
        try { await d.Channel.BasicNackAsync(d.DeliveryTag, false, requeue: true).ConfigureAwait(false); }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException)
        {
        }
    }

    public async Task<bool> FailAsync(HotDelivery d, string error)
    {
        var attempts = d.Attempts + 1;
        var dead = attempts >= _settings.MaxAttempts;
        var next = Backoff.NextAttemptMs(attempts, _settings.RetryBaseSeconds, _settings.RetryMaxSeconds);
        if (d.LocalId is { } id)
        {
            _store.Fail(id, attempts, error, next, dead);
            return dead;
        }
        string relPath;
        try { relPath = V03Message.Parse(d.Body).RelPath; } catch (HpcException) { relPath = ""; }
        _store.Enqueue(d.RoutingKey, d.Body, relPath, null, attempts, next, error, dead ? HotDirectoryStore.Dead : HotDirectoryStore.Ready);
        await AckAsync(d).ConfigureAwait(false);
        return dead;
    }

    public async Task<long?> QueueDepthAsync(CancellationToken ct)
    {
        var ch = _publishChannel;
        if (!Connected || ch is null) return null;
        try
        {
            await _publishGate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var ok = await ch.QueueDeclarePassiveAsync(_settings.EffectiveQueue, ct).ConfigureAwait(false);
                return ok.MessageCount;
            }
            finally { _publishGate.Release(); }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        var c = _connection;
        _connection = null;
        if (c is not null)
        {
            try { await c.CloseAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false); } catch (Exception) { }
            c.Dispose();
        }
    }
}
