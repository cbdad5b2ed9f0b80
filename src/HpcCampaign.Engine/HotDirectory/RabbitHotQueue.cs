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
    // publisher confirms of the batch being published: its sequence numbers not yet confirmed
    private readonly object _confirmGate = new();
    private HashSet<ulong>? _unconfirmed;
    private bool _allSent, _nacked;
    private TaskCompletionSource<bool>? _confirmed;
    private volatile bool _returned;

    private void Confirm(ulong tag, bool multiple, bool ack)
    {
        lock (_confirmGate)
        {
            if (_unconfirmed is null) return;
            if (multiple) _unconfirmed.RemoveWhere(t => t <= tag);
            else _unconfirmed.Remove(tag);
            if (!ack) _nacked = true;
            if (_nacked || (_allSent && _unconfirmed.Count == 0)) _confirmed?.TrySetResult(!_nacked);
        }
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
            pub.ChannelShutdownAsync += (_, _) => { lock (_confirmGate) _confirmed?.TrySetResult(false); return Task.CompletedTask; };
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

    public async Task PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken ct)
    {
        if (messages.Count == 0) return;
        if (!await EnsureConnectedAsync().ConfigureAwait(false))
            throw new HpcException("BrokerUnavailable", HpcErrorKind.ConnectionError, "The broker is not reachable; the files stay pending.");
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
            var confirmed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var unconfirmed = new HashSet<ulong>();
            lock (_confirmGate)
            {
                _unconfirmed = unconfirmed;
                _allSent = _nacked = false;
                _confirmed = confirmed;
            }
            _returned = false;
            foreach (var m in messages)
            {
                var tag = await channel.GetNextPublishSequenceNumberAsync(ct).ConfigureAwait(false);
                lock (_confirmGate) unconfirmed.Add(tag);
                await channel.BasicPublishAsync(_settings.EffectiveExchange, m.RoutingKey, mandatory: true, props, Encoding.UTF8.GetBytes(m.Body), ct).ConfigureAwait(false);
            }
            lock (_confirmGate)
            {
                _allSent = true;
                if (unconfirmed.Count == 0) confirmed.TrySetResult(!_nacked);
            }
            var ok = await confirmed.Task.WaitAsync(TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            if (!ok) throw new IOException("the broker did not confirm the messages (nack or channel closed)");
            // a return arrives before the confirm of its message
            if (_returned) throw new IOException($"a message was unroutable: no queue is bound to exchange '{_settings.EffectiveExchange}' for its topic");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
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
            lock (_confirmGate)
            {
                _unconfirmed = null;
                _confirmed = null;
            }
            _publishGate.Release();
        }
        _store.ApplyCatalog(messages.Where(m => m.Change is not null).Select(m => m.Change!));
    }

    public async Task<IReadOnlyList<HotDelivery>> ReceiveAsync(int sender, int max, TimeSpan wait, CancellationToken ct)
    {
        var batch = _store.Lease(max).Select(retry => new HotDelivery { Body = retry.Body, RoutingKey = retry.RoutingKey, Attempts = retry.Attempts, LocalId = retry.Id }).ToList();
        var reader = _buffers[sender].Reader;
        void Take()
        {
            // deliveries of a closed channel are re-delivered by the broker
            while (batch.Count < max && reader.TryRead(out var d))
                if (d.Channel is { IsOpen: true }) batch.Add(d);
        }
        Take();
        if (batch.Count > 0) return batch;
        await EnsureConnectedAsync().ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(wait);
        try
        {
            while (await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
            {
                Take();
                if (batch.Count > 0) return batch;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
        return batch;
    }

    public async Task AckAsync(IReadOnlyList<HotDelivery> done)
    {
        var local = done.Where(d => d.LocalId is not null).Select(d => d.LocalId!.Value).ToList();
        if (local.Count > 0) _store.Complete(local);
        foreach (var d in done)
        {
            if (d.LocalId is not null || d.Channel is not { IsOpen: true }) continue;
            try { await d.Channel.BasicAckAsync(d.DeliveryTag, false).ConfigureAwait(false); }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException)
            {
                // the broker re-delivers it; the sender sends the same file again under the same final name
            }
        }
    }

    public async Task ReleaseAsync(IReadOnlyList<HotDelivery> deliveries)
    {
        var local = deliveries.Where(d => d.LocalId is not null).Select(d => d.LocalId!.Value).ToList();
        if (local.Count > 0) _store.Release(local, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1000);
        foreach (var d in deliveries)
        {
            if (d.LocalId is not null || d.Channel is not { IsOpen: true }) continue;
            try { await d.Channel.BasicNackAsync(d.DeliveryTag, false, requeue: true).ConfigureAwait(false); }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException or IOException)
            {
            }
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
        _store.Enqueue(d.RoutingKey, d.Body, relPath, attempts, next, error, dead ? HotDirectoryStore.Dead : HotDirectoryStore.Ready);
        await AckAsync(new[] { d }).ConfigureAwait(false);
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
