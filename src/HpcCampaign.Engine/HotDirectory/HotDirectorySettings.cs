using System.Globalization;
using HpcCampaign.Engine.Config;
using YamlDotNet.RepresentationModel;

namespace HpcCampaign.Engine.HotDirectory;

/// <summary>
/// Everything one hot directory needs: the watched folder, the queue (embedded SQLite or a RabbitMQ broker), the
/// remote SFTP destination and the tuning knobs. Loaded from YAML (<see cref="Load"/>) and/or set by the cmdlet.
/// </summary>
public sealed class HotDirectorySettings
{
    public string Name { get; set; } = "default";
    public string WatchDirectory { get; set; } = "";
    /// <summary>State (catalogue, embedded queue, dead letters, metrics, pid). Default: StateDirectory/hotdirectory/Name.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>amqp(s)://user@host:port/vhost; null = embedded on-disk queue.</summary>
    public string? BrokerUrl { get; set; }
    public string? BrokerUser { get; set; }
    /// <summary>Broker password in clear only in memory; never logged or written.</summary>
    public string? BrokerPassword { get; set; }
    public string? CredentialsFile { get; set; }
    public string? Exchange { get; set; }
    public string? Queue { get; set; }
    public string TopicPrefix { get; set; } = "v03";
    /// <summary>Messages a sender may hold unacknowledged (RabbitMQ basic.qos; the embedded queue leases alike). A sender
    /// works on half of them while the other half is already on its way.</summary>
    public int Prefetch { get; set; } = 64;

    public string RemoteHost { get; set; } = "";
    public string? RemoteUser { get; set; }
    public int RemotePort { get; set; } = 22;
    public string RemoteDirectory { get; set; } = ".";
    public string? KeyFile { get; set; }
    public string? KnownHostsFile { get; set; }
    /// <summary>How the remote copy is checked: Sha512Sum (run sha512sum over SSH, falls back to ReadBack) or ReadBack (read the file back over SFTP).</summary>
    public string Verify { get; set; } = "Sha512Sum";

    /// <summary>scp or rsync (name or path) for files of at least AcceleratorThresholdMiB; null = SFTP only.</summary>
    public string? Accelerator { get; set; }
    public double AcceleratorThresholdMiB { get; set; } = 64;

    public int Senders { get; set; } = 2;
    public string[] Include { get; set; } = { "*" };
    public string[] Exclude { get; set; } = { "*.tmp", ".*" };
    public bool ForwardDeletes { get; set; }
    public bool RemoveAfterSend { get; set; }
    public double SettleSeconds { get; set; } = 1.0;
    public double RescanSeconds { get; set; } = 30;
    public int MaxAttempts { get; set; } = 8;
    public double RetryBaseSeconds { get; set; } = 2;
    public double RetryMaxSeconds { get; set; } = 300;
    public double MetricsIntervalSeconds { get; set; } = 2;
    public string? Source { get; set; }

    public string ResolvedStateDirectory =>
        Path.GetFullPath(ConfigPaths.ExpandHome(StateDirectory ?? Path.Combine(ConfigPaths.StateDirectory, "hotdirectory", Name)));

    public bool UsesBroker => !string.IsNullOrWhiteSpace(BrokerUrl);

    public string EffectiveBrokerUser => BrokerUser ?? BrokerCredentials.UserFromUrl(BrokerUrl) ?? "anonymous";
    public string EffectiveExchange => Exchange ?? $"xs_{EffectiveBrokerUser}_hot";
    public string EffectiveQueue => Queue ?? $"q_{EffectiveBrokerUser}.hotdirectory.{Name}";
    public string EffectiveSource => Source ?? (UsesBroker ? EffectiveBrokerUser : Environment.UserName);
    public string EffectiveRemoteUser => RemoteUser ?? Environment.UserName;

    /// <summary>Checks the values and makes paths absolute. Throws InvalidHotDirectoryConfig.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || Name.IndexOfAny(new[] { '/', '\\', ' ', ':' }) >= 0)
            throw Invalid($"Name '{Name}' must be non-empty without '/', '\\', ':' or spaces.");
        if (string.IsNullOrWhiteSpace(WatchDirectory)) throw Invalid("The watch folder (watch:) is required.");
        WatchDirectory = Path.GetFullPath(ConfigPaths.ExpandHome(WatchDirectory));
        if (!Directory.Exists(WatchDirectory))
            throw new HpcException("WatchDirectoryNotFound", HpcErrorKind.ObjectNotFound, $"The watch folder '{WatchDirectory}' does not exist.", WatchDirectory);
        if (string.IsNullOrWhiteSpace(RemoteHost)) throw Invalid("The remote host (remote.host:) is required.");
        if (RemotePort is < 1 or > 65535) throw Invalid($"Remote port {RemotePort} is out of range.");
        if (Senders is < 1 or > 64) throw Invalid($"Senders must be 1..64 (got {Senders}).");
        if (Prefetch is < 1 or > 1000) throw Invalid($"Prefetch must be 1..1000 (got {Prefetch}).");
        if (MaxAttempts < 1) throw Invalid("MaxAttempts must be at least 1.");
        if (SettleSeconds < 0 || RescanSeconds <= 0) throw Invalid("SettleSeconds must be >= 0 and RescanSeconds > 0.");
        if (!Verify.Equals("Sha512Sum", StringComparison.OrdinalIgnoreCase) && !Verify.Equals("ReadBack", StringComparison.OrdinalIgnoreCase))
            throw Invalid($"Verify must be Sha512Sum or ReadBack (got '{Verify}').");
        if (Accelerator is not null && Path.GetFileNameWithoutExtension(Accelerator).ToLowerInvariant() is not ("scp" or "rsync"))
            throw Invalid($"Accelerator must be scp or rsync (got '{Accelerator}').");
        if (AcceleratorThresholdMiB <= 0) throw Invalid("AcceleratorThresholdMiB must be positive.");
        if (KeyFile is not null) KeyFile = Path.GetFullPath(ConfigPaths.ExpandHome(KeyFile));
        if (KnownHostsFile is not null) KnownHostsFile = Path.GetFullPath(ConfigPaths.ExpandHome(KnownHostsFile));
        if (CredentialsFile is not null) CredentialsFile = Path.GetFullPath(ConfigPaths.ExpandHome(CredentialsFile));
        if (UsesBroker && !BrokerUrl!.StartsWith("amqp://", StringComparison.OrdinalIgnoreCase) && !BrokerUrl.StartsWith("amqps://", StringComparison.OrdinalIgnoreCase))
            throw Invalid($"Broker URL must start with amqp:// or amqps:// (got '{BrokerCredentials.Mask(BrokerUrl)}').");
    }

    private static HpcException Invalid(string message) =>
        new("InvalidHotDirectoryConfig", HpcErrorKind.InvalidArgument, message);

    /// <summary>Reads a YAML config file (keys as in the README: name, watch, broker, exchange, queue, remote: {...}, senders...).</summary>
    public static HotDirectorySettings Load(string path)
    {
        if (!File.Exists(path))
            throw new HpcException("ConfigFileNotFound", HpcErrorKind.ObjectNotFound, $"Hot directory config '{path}' does not exist.", path);
        var root = YamlDoc.LoadRoot(path);
        var s = new HotDirectorySettings();
        if (root is null) return s;
        if (root is not YamlMappingNode)
            throw new HpcException("InvalidHotDirectoryConfig", HpcErrorKind.InvalidData, $"'{path}' must be a YAML mapping.", path);
        foreach (var (key, value) in YamlDoc.Entries(root))
        {
            var text = YamlDoc.Scalar(value);
            switch (key)
            {
                case "name": s.Name = text ?? s.Name; break;
                case "watch": s.WatchDirectory = text ?? ""; break;
                case "stateDirectory": s.StateDirectory = text; break;
                case "broker": s.BrokerUrl = string.IsNullOrWhiteSpace(text) || text == "none" ? null : text; break;
                case "brokerUser": s.BrokerUser = text; break;
                case "credentials": s.CredentialsFile = text; break;
                case "exchange": s.Exchange = text; break;
                case "queue": s.Queue = text; break;
                case "topicPrefix": s.TopicPrefix = text ?? s.TopicPrefix; break;
                case "prefetch": s.Prefetch = Int(key, text, path); break;
                case "senders": s.Senders = Int(key, text, path); break;
                case "include": s.Include = List(value); break;
                case "exclude": s.Exclude = List(value); break;
                case "forwardDeletes": s.ForwardDeletes = Bool(key, text, path); break;
                case "removeAfterSend": s.RemoveAfterSend = Bool(key, text, path); break;
                case "settleSeconds": s.SettleSeconds = Num(key, text, path); break;
                case "rescanSeconds": s.RescanSeconds = Num(key, text, path); break;
                case "maxAttempts": s.MaxAttempts = Int(key, text, path); break;
                case "retryBaseSeconds": s.RetryBaseSeconds = Num(key, text, path); break;
                case "retryMaxSeconds": s.RetryMaxSeconds = Num(key, text, path); break;
                case "metricsIntervalSeconds": s.MetricsIntervalSeconds = Num(key, text, path); break;
                case "source": s.Source = text; break;
                case "verify": s.Verify = text ?? s.Verify; break;
                case "accelerator": s.Accelerator = string.IsNullOrWhiteSpace(text) || text == "none" ? null : text; break;
                case "acceleratorThresholdMiB": s.AcceleratorThresholdMiB = Num(key, text, path); break;
                case "remote":
                    foreach (var (rk, rv) in YamlDoc.Entries(value))
                    {
                        var r = YamlDoc.Scalar(rv);
                        switch (rk)
                        {
                            case "host": s.RemoteHost = r ?? ""; break;
                            case "user": s.RemoteUser = r; break;
                            case "port": s.RemotePort = Int("remote.port", r, path); break;
                            case "directory": s.RemoteDirectory = r ?? "."; break;
                            case "keyFile": s.KeyFile = r; break;
                            case "knownHosts": s.KnownHostsFile = r; break;
                            default: throw Unknown("remote." + rk, path);
                        }
                    }
                    break;
                default: throw Unknown(key, path);
            }
        }
        return s;
    }

    private static HpcException Unknown(string key, string path) =>
        new("InvalidHotDirectoryConfig", HpcErrorKind.InvalidData, $"'{path}': unknown setting '{key}'.", path);

    private static string[] List(YamlNode node) =>
        node is YamlSequenceNode ? YamlDoc.Strings(node).ToArray()
        : (YamlDoc.Scalar(node) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static int Int(string key, string? text, string path) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
        : throw new HpcException("InvalidHotDirectoryConfig", HpcErrorKind.InvalidData, $"'{path}': {key} must be an integer (got '{text}').", path);

    private static double Num(string key, string? text, string path) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
        : throw new HpcException("InvalidHotDirectoryConfig", HpcErrorKind.InvalidData, $"'{path}': {key} must be a number (got '{text}').", path);

    private static bool Bool(string key, string? text, string path) => text?.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" or "1" => true,
        "false" or "no" or "off" or "0" => false,
        _ => throw new HpcException("InvalidHotDirectoryConfig", HpcErrorKind.InvalidData, $"'{path}': {key} must be true or false (got '{text}').", path),
    };
}
