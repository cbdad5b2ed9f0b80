using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using HpcCampaign.Engine.Common;
using HpcCampaign.Engine.Config;

namespace HpcCampaign.Engine.Connector;

/// <summary>
/// The connectors running in this process (for Get-/Stop-CampaignConnector), and a small state file per connector
/// under <see cref="ConfigPaths.StateDirectory"/> (port, process, start time; never keys, cookies or passwords) so
/// that another process can see that a connector runs.
/// </summary>
public static class ConnectorRegistry
{
    private static readonly ConcurrentDictionary<int, CampaignConnector> Running = new();

    public static IReadOnlyList<CampaignConnector> InProcess => Running.Values.OrderBy(c => c.Port).ToList();

    public static CampaignConnector? Find(int port) => Running.GetValueOrDefault(port);

    internal static void Register(CampaignConnector connector)
    {
        if (!Running.TryAdd(connector.Port, connector))
            throw new HpcException("ConnectorAlreadyRunning", HpcErrorKind.ResourceExists,
                $"A campaign connector already runs on 127.0.0.1:{connector.Port} in this session.", connector.Port);
        try
        {
            var state = new StateRecord
            {
                Port = connector.Port,
                ProcessId = Environment.ProcessId,
                ProcessStartTime = CurrentProcessStart(),
                StartTime = connector.StartTime,
                HostsFile = connector.Options.HostsFile,
                KeysDirectory = connector.Options.KeysDirectory,
            };
            AtomicFile.WriteAllText(StateFile(connector.Options.StateDirectory, connector.Port), JsonSerializer.Serialize(state, JsonOptions), overwrite: true, ownerOnly: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or HpcException)
        {
            // the state file only helps other processes see us; the connector itself works without it
        }
    }

    internal static void Unregister(CampaignConnector connector)
    {
        if (!Running.TryRemove(new KeyValuePair<int, CampaignConnector>(connector.Port, connector))) return;
        try
        {
            var path = StateFile(connector.Options.StateDirectory, connector.Port);
            if (TryRead(path) is { } state && state.ProcessId == Environment.ProcessId) File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Connectors that state files say run in other, still living, processes.</summary>
    public static IReadOnlyList<CampaignConnectorInfo> OtherProcesses(string? stateDirectory = null)
    {
        var result = new List<CampaignConnectorInfo>();
        var dir = stateDirectory ?? ConfigPaths.StateDirectory;
        if (!Directory.Exists(dir)) return result;
        foreach (var path in Directory.EnumerateFiles(dir, "connector-*.json").Order(StringComparer.Ordinal))
        {
            var state = TryRead(path);
            if (state is null || state.ProcessId == Environment.ProcessId || !IsAlive(state)) continue;
            result.Add(new CampaignConnectorInfo("127.0.0.1", state.Port, state.ProcessId, state.StartTime, false,
                "RunningInOtherProcess", state.HostsFile, state.KeysDirectory, Array.Empty<string>(), Array.Empty<CampaignTunnelInfo>(), 0, 0));
        }
        return result.OrderBy(c => c.Port).ToList();
    }

    /// <summary>Snapshots of this process's connectors, then those of other processes on ports not used here.</summary>
    public static IReadOnlyList<CampaignConnectorInfo> All(string? stateDirectory = null)
    {
        var mine = InProcess.Select(c => c.Snapshot()).ToList();
        var ports = mine.Select(c => c.Port).ToHashSet();
        return mine.Concat(OtherProcesses(stateDirectory).Where(o => !ports.Contains(o.Port))).ToList();
    }

    public static string StateFile(string stateDirectory, int port) => Path.Combine(stateDirectory, $"connector-{port}.json");

    private static StateRecord? TryRead(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<StateRecord>(File.ReadAllText(path), JsonOptions);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    private static bool IsAlive(StateRecord state)
    {
        try
        {
            using var process = Process.GetProcessById(state.ProcessId);
            if (process.HasExited) return false;
            // a recycled pid belongs to a process that started later than the recorded one
            return state.ProcessStartTime is null ||
                   Math.Abs((process.StartTime.ToUniversalTime() - state.ProcessStartTime.Value.UtcDateTime).TotalSeconds) < 2;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return false;
        }
    }

    private static DateTimeOffset? CurrentProcessStart()
    {
        try
        {
            using var process = Process.GetCurrentProcess();
            return new DateTimeOffset(process.StartTime.ToUniversalTime(), TimeSpan.Zero);
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private sealed class StateRecord
    {
        public int Port { get; set; }
        public int ProcessId { get; set; }
        public DateTimeOffset? ProcessStartTime { get; set; }
        public DateTimeOffset StartTime { get; set; }
        public string? HostsFile { get; set; }
        public string? KeysDirectory { get; set; }
    }
}
