using System.Text.Json;

namespace HpcCampaign.Engine.HotDirectory;

/// <summary>
/// Computes the sr3-status figures (spec §4.5) from the metrics files in the state folder: per component the
/// instances' files are summed, rates are per metrics window, and State follows sr3's precedence
/// (hung > stop/miss/part > rtry > lag > reje > idle > run).
/// </summary>
public static class HotDirectoryStatusReader
{
    public const double HungSeconds = 60, LagThreshold = 30, RejectThreshold = 80, IdleSeconds = 900;
    public const long RetryThreshold = 1000;

    public static List<HotDirectoryStatus> Read(string name, string stateDirectory, DateTime? nowUtc = null)
    {
        var now = ComponentMetrics.Epoch(nowUtc ?? DateTime.UtcNow);
        var running = HotDirectoryRunner.IsRunning(stateDirectory);
        var snapshots = new List<MetricsSnapshot>();
        var dir = Path.Combine(stateDirectory, "metrics");
        if (Directory.Exists(dir))
            foreach (var f in Directory.GetFiles(dir, "*.json"))
            {
                try
                {
                    if (JsonSerializer.Deserialize<MetricsSnapshot>(File.ReadAllText(f), MetricsJson.Options) is { } s) snapshots.Add(s);
                }
                catch (Exception ex) when (ex is JsonException or IOException) { }
            }
        long retry = 0, dead = 0, ready = 0, leased = 0;
        if (HotDirectoryStore.Exists(stateDirectory))
            (ready, leased, retry, dead) = new HotDirectoryStore(stateDirectory).Counts();

        var result = new List<HotDirectoryStatus>();
        foreach (var component in new[] { "watch", "sender" })
        {
            var group = snapshots.Where(s => s.Component == component).ToList();
            var expected = group.Count == 0 ? (component == "watch" ? 1 : 0) : group.Max(s => s.Expected);
            var fresh = group.Where(s => !s.Stopped && now - s.Written < HungSeconds).ToList();
            var live = running ? group.Count(s => !s.Stopped) : 0;
            var timeBase = group.Count == 0 ? 0 : Math.Max(0.001, now - group.Min(s => s.WindowStart));
            long rxMsgs = group.Sum(s => s.RxMessages), rej = group.Sum(s => s.Rejected);
            double lagTotal = group.Sum(s => s.LagTotal);
            long lagCount = group.Sum(s => s.LagCount);
            var lagAvg = lagCount == 0 ? 0 : lagTotal / lagCount;
            var lagMax = group.Count == 0 ? 0 : group.Max(s => s.LagMax);
            var rejPct = rxMsgs == 0 ? 0 : Math.Min(100, 100.0 * rej / rxMsgs);
            var lastTransfer = group.Where(s => s.LastTransfer is not null).Select(s => s.LastTransfer!.Value).DefaultIfEmpty().Max();
            var lastActivity = group.Where(s => s.LastActivity is not null).Select(s => s.LastActivity!.Value).DefaultIfEmpty().Max();
            var since = lastTransfer > 0 ? now - lastTransfer : lastActivity > 0 ? now - lastActivity : (double?)null;
            var uptime = group.Count == 0 ? 0 : Math.Max(0.001, now - group.Min(s => s.Started));
            var disconnected = group.Count == 0 ? 0 : group.Average(s => s.BrokerDisconnectSeconds);
            var transferConnected = group.Count == 0 ? 0 : group.Average(s => s.TransferConnectSeconds);
            var depth = group.Select(s => s.QueueDepth).FirstOrDefault(d => d is not null) ?? (HotDirectoryStore.Exists(stateDirectory) && !running ? ready + leased : null);
            var componentRetry = component == "sender" ? retry : 0;

            string state;
            if (running && group.Count > 0 && fresh.Count == 0) state = "hung";
            else if (!running) state = group.Any(s => !s.Stopped) ? "miss" : "stop";
            else if (live < expected) state = "part";
            else if (componentRetry > RetryThreshold) state = "rtry";
            else if (lagAvg > LagThreshold) state = "lag";
            else if (rejPct > RejectThreshold) state = "reje";
            else if (now - Math.Max(lastActivity, group.Count == 0 ? now : group.Min(s => s.Started)) > IdleSeconds) state = "idle";
            else state = "run";

            result.Add(new HotDirectoryStatus(name, component, state, running ? live : 0, expected)
            {
                QueueDepth = depth,
                Retry = componentRetry,
                DeadLetters = component == "sender" ? dead : 0,
                LagMax = lagMax,
                LagAvg = lagAvg,
                LastTransfer = lastTransfer > 0 ? DateTimeOffset.FromUnixTimeMilliseconds((long)(lastTransfer * 1000)) : null,
                SinceLast = since is { } s0 ? TimeSpan.FromSeconds(Math.Max(0, s0)) : null,
                RejectedPercent = Math.Round(rejPct, 1),
                MessagesPerSecond = timeBase == 0 ? 0 : rxMsgs / timeBase,
                FilesPerSecond = timeBase == 0 ? 0 : (component == "watch" ? group.Sum(s => s.FilesIn) : group.Sum(s => s.FilesOut)) / timeBase,
                BytesInPerSecond = timeBase == 0 ? 0 : group.Sum(s => s.DataIn) / timeBase,
                BytesOutPerSecond = timeBase == 0 ? 0 : group.Sum(s => s.DataOut) / timeBase,
                BrokerConnectedPercent = uptime == 0 ? 0 : (int)Math.Clamp(100 * (uptime - disconnected) / uptime, 0, 100),
                TransferConnectedPercent = uptime == 0 || component == "watch" ? 0 : (int)Math.Clamp(100 * transferConnected / uptime, 0, 100),
                TotalFiles = group.Sum(s => s.TotalFiles),
                TotalBytes = group.Sum(s => s.TotalBytes),
                StateDirectory = stateDirectory,
            });
        }
        return result;
    }

    public static List<HotDirectoryDeadLetter> DeadLetters(string name, string stateDirectory)
    {
        if (!HotDirectoryStore.Exists(stateDirectory)) return new();
        return new HotDirectoryStore(stateDirectory).DeadLetters()
            .Select(r => new HotDirectoryDeadLetter(name, r.Id, r.RelPath, r.Attempts, r.LastError, DateTimeOffset.FromUnixTimeMilliseconds(r.EnqueuedMs), r.Body) { StateDirectory = stateDirectory })
            .ToList();
    }

    /// <summary>Requeues a dead letter (embedded queue or local retry list); a running instance picks it up at once.</summary>
    public static bool Requeue(string stateDirectory, long id)
    {
        if (!HotDirectoryStore.Exists(stateDirectory))
            throw new HpcException("HotDirectoryStateNotFound", HpcErrorKind.ObjectNotFound, $"No hot directory state in '{stateDirectory}'.", stateDirectory);
        return new HotDirectoryStore(stateDirectory).Requeue(id);
    }
}
