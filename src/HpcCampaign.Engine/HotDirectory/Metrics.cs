using System.Text.Json;
using HpcCampaign.Engine.Common;

namespace HpcCampaign.Engine.HotDirectory;

/// <summary>What one component instance writes to metrics/&lt;component&gt;_NN.json (spec §4.6, our own names).</summary>
public sealed class MetricsSnapshot
{
    public string Component { get; set; } = "";
    public int Instance { get; set; }
    public int Pid { get; set; }
    public int Expected { get; set; } = 1;
    public bool Stopped { get; set; }
    public double Started { get; set; }
    public double Written { get; set; }
    public double WindowStart { get; set; }
    public bool BrokerConnected { get; set; }
    public double BrokerDisconnectSeconds { get; set; }
    public double TransferConnectSeconds { get; set; }
    public long RxMessages { get; set; }
    public long RxBytes { get; set; }
    public long Rejected { get; set; }
    public long TxMessages { get; set; }
    public long TxBytes { get; set; }
    public long FilesIn { get; set; }
    public long DataIn { get; set; }
    public long FilesOut { get; set; }
    public long DataOut { get; set; }
    public double LagMax { get; set; }
    public double LagTotal { get; set; }
    public long LagCount { get; set; }
    public double? LastTransfer { get; set; }
    public double? LastActivity { get; set; }
    public long? QueueDepth { get; set; }
    public long Retry { get; set; }
    public long Dead { get; set; }
    public long TotalFiles { get; set; }
    public long TotalBytes { get; set; }
}

/// <summary>
/// Counters of one component instance. Rates cover the current and the previous window (60 s each), so they
/// never drop to zero just after a window turns over. Thread-safe.
/// </summary>
public sealed class ComponentMetrics
{
    private const double WindowSeconds = 60;
    private readonly object _gate = new();
    private readonly string _path;
    private Counters _previous = new(), _current = new();
    private double _previousStart, _currentStart;
    private readonly double _started;
    private long _totalFiles, _totalBytes;
    private double? _lastTransfer, _lastActivity;

    public ComponentMetrics(string stateDirectory, string component, int instance, int expected)
    {
        Component = component;
        Instance = instance;
        Expected = expected;
        _path = Path.Combine(stateDirectory, "metrics", $"{component}_{instance:00}.json");
        _started = _previousStart = _currentStart = Epoch(DateTime.UtcNow);
    }

    public string Component { get; }
    public int Instance { get; }
    public int Expected { get; }

    private sealed class Counters
    {
        public long RxMessages, RxBytes, Rejected, TxMessages, TxBytes, FilesIn, DataIn, FilesOut, DataOut, LagCount;
        public double LagMax, LagTotal;
    }

    public static double Epoch(DateTime utc) => (utc - DateTime.UnixEpoch).TotalSeconds;

    private Counters Now()
    {
        var now = Epoch(DateTime.UtcNow);
        if (now - _currentStart >= WindowSeconds)
        {
            _previous = _current;
            _previousStart = _currentStart;
            _current = new Counters();
            _currentStart = now;
        }
        return _current;
    }

    public void Received(long messageBytes, double lagSeconds)
    {
        lock (_gate)
        {
            var c = Now();
            c.RxMessages++;
            c.RxBytes += messageBytes;
            c.LagMax = Math.Max(c.LagMax, lagSeconds);
            c.LagTotal += lagSeconds;
            c.LagCount++;
            _lastActivity = Epoch(DateTime.UtcNow);
        }
    }

    public void Rejected()
    {
        lock (_gate) Now().Rejected++;
    }

    /// <summary>A message published (the watcher's lag is how long the file waited after its last write).</summary>
    public void Published(long messageBytes, long fileBytes, double lagSeconds)
    {
        lock (_gate)
        {
            var c = Now();
            c.TxMessages++;
            c.TxBytes += messageBytes;
            c.FilesIn++;
            c.DataIn += fileBytes;
            c.LagMax = Math.Max(c.LagMax, lagSeconds);
            c.LagTotal += lagSeconds;
            c.LagCount++;
            _totalFiles++;
            _totalBytes += fileBytes;
            _lastActivity = Epoch(DateTime.UtcNow);
        }
    }

    /// <summary>A file delivered (or found already delivered) at the destination.</summary>
    public void Delivered(long fileBytes, long bytesSent)
    {
        lock (_gate)
        {
            var c = Now();
            c.FilesIn++;
            c.DataIn += fileBytes;
            c.FilesOut++;
            c.DataOut += bytesSent;
            _totalFiles++;
            _totalBytes += bytesSent;
            _lastTransfer = _lastActivity = Epoch(DateTime.UtcNow);
        }
    }

    public long TotalFiles { get { lock (_gate) return _totalFiles; } }

    public MetricsSnapshot Snapshot(bool brokerConnected, double brokerDisconnectSeconds, double transferConnectSeconds, long? queueDepth, long retry, long dead, bool stopped)
    {
        lock (_gate)
        {
            Now();
            var a = _previous;
            var b = _current;
            return new MetricsSnapshot
            {
                Component = Component, Instance = Instance, Pid = Environment.ProcessId, Expected = Expected, Stopped = stopped,
                Started = _started, Written = Epoch(DateTime.UtcNow), WindowStart = ReferenceEquals(a, b) ? _currentStart : _previousStart,
                BrokerConnected = brokerConnected, BrokerDisconnectSeconds = brokerDisconnectSeconds, TransferConnectSeconds = transferConnectSeconds,
                RxMessages = a.RxMessages + b.RxMessages, RxBytes = a.RxBytes + b.RxBytes, Rejected = a.Rejected + b.Rejected,
                TxMessages = a.TxMessages + b.TxMessages, TxBytes = a.TxBytes + b.TxBytes, FilesIn = a.FilesIn + b.FilesIn,
                DataIn = a.DataIn + b.DataIn, FilesOut = a.FilesOut + b.FilesOut, DataOut = a.DataOut + b.DataOut,
                LagMax = Math.Max(a.LagMax, b.LagMax), LagTotal = a.LagTotal + b.LagTotal, LagCount = a.LagCount + b.LagCount,
                LastTransfer = _lastTransfer, LastActivity = _lastActivity, QueueDepth = queueDepth, Retry = retry, Dead = dead,
                TotalFiles = _totalFiles, TotalBytes = _totalBytes,
            };
        }
    }

    public void Write(MetricsSnapshot snapshot) =>
        AtomicFile.WriteAllText(_path, JsonSerializer.Serialize(snapshot, MetricsJson.Options));
}

internal static class MetricsJson
{
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
