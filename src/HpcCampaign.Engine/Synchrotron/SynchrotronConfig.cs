using System.Globalization;
using HpcCampaign.Engine.Config;
using YamlDotNet.RepresentationModel;

namespace HpcCampaign.Engine.Synchrotron;

/// <summary>Portal login for one beamline (an entry of the original's `equipment` list).</summary>
public sealed record EquipmentLogin(int Id, string Username, string Password, string ClientName, string ClientPassword);

/// <summary>
/// The mxsync/epnalert config.yml, read with the original key names. Keys the original hard-coded are optional
/// additions: ssh-user (default help@massive.org.au), ssh-port (22), source-root-path (/data/{beamline}/{epn}/),
/// known-hosts-file, rsync-bwlimit (KiB/s), epnalert-email-smtp-port (25), epnalert-email-smtp-security
/// (None/StartTls/SslOnConnect/Auto), epnalert-email-smtp-ca-file, epnalert-email-smtp-user,
/// epnalert-email-smtp-password-file, epnalert-email-subject, epnalert-report-without-visit.
/// </summary>
public sealed class SynchrotronConfig
{
    public const string DefaultSshUser = "help@massive.org.au";
    public const string DefaultSourceRoot = "/data/{beamline}/{epn}/";
    public const string DefaultSubject = "Unknown ownership of EPNs";

    public string? Path { get; init; }
    /// <summary>EPN number (string, whatever the YAML key type was) → project folder.</summary>
    public IReadOnlyDictionary<string, string> EpnCapMap { get; init; } = new Dictionary<string, string>();
    public string? IgnorePath { get; init; }
    public IReadOnlyList<EquipmentLogin> Equipment { get; init; } = Array.Empty<EquipmentLogin>();
    public string? BaseUrl { get; init; }
    public string Beamline { get; init; } = "mx";
    public int VisitDayRange { get; init; } = 200;
    public string? KeyFile { get; init; }
    public string? Host { get; init; }
    public string? DestinationRootPath { get; init; }
    public double SyncFrequencyHours { get; init; } = 24;
    public int MaxTasks { get; init; } = 1;
    public string SshUser { get; init; } = DefaultSshUser;
    public int SshPort { get; init; } = 22;
    public string SourceRootPath { get; init; } = DefaultSourceRoot;
    public string? KnownHostsFile { get; init; }
    public int RsyncBandwidthLimit { get; init; }
    public string? EmailTo { get; init; }
    public string? EmailFrom { get; init; }
    public string? SmtpHost { get; init; }
    public int SmtpPort { get; init; } = 25;
    public string SmtpSecurity { get; init; } = "Auto";
    public string? SmtpCaFile { get; init; }
    /// <summary>SMTP login for unattended runs; the password lives in its own file (owner-only), never in config.yml.</summary>
    public string? SmtpUser { get; init; }
    public string? SmtpPasswordFile { get; init; }
    public string Subject { get; init; } = DefaultSubject;
    public string? TemplateFolder { get; init; }
    public string? TemplateText { get; init; }
    public string? TemplateHtml { get; init; }
    public bool ReportWithoutVisit { get; init; }

    /// <summary>Default location: synchrotron.yml in the HpcCampaign config folder.</summary>
    public static string DefaultPath => System.IO.Path.Combine(ConfigPaths.ConfigDirectory, "synchrotron.yml");

    public static SynchrotronConfig Load(string path)
    {
        if (!File.Exists(path))
            throw new HpcException("ConfigNotFound", HpcErrorKind.ObjectNotFound, $"Synchrotron config '{path}' does not exist.", path);
        var root = YamlDoc.LoadRoot(path);
        if (root is not YamlMappingNode)
            throw new HpcException("InvalidConfigFile", HpcErrorKind.InvalidData, $"'{path}' must be a YAML mapping of the mxsync keys.", path);
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        string? Str(string key) => YamlDoc.Scalar(YamlDoc.Child(root, key)) is { Length: > 0 } v ? v : null;
        string? PathValue(string key) => Str(key) is { } v ? Resolve(dir, v) : null;

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in YamlDoc.Entries(YamlDoc.Child(root, "epn_cap_map")))
            if (YamlDoc.Scalar(v) is { Length: > 0 } cap) map[NormaliseKey(k)] = cap;

        var equipment = new List<EquipmentLogin>();
        if (YamlDoc.Child(root, "equipment") is YamlSequenceNode seq)
            foreach (var e in seq.Children)
            {
                string S(string key) => YamlDoc.Scalar(YamlDoc.Child(e, key)) ?? "";
                if (!int.TryParse(S("id"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
                    throw new HpcException("InvalidConfigValue", HpcErrorKind.InvalidData, $"'{path}': every equipment entry needs a numeric id.", path);
                equipment.Add(new EquipmentLogin(id, S("username"), S("password"), S("client_name"), S("client_password")));
            }

        return new SynchrotronConfig
        {
            Path = System.IO.Path.GetFullPath(path),
            EpnCapMap = map,
            IgnorePath = PathValue("ignore"),
            Equipment = equipment,
            BaseUrl = Str("base-url")?.TrimEnd('/'),
            Beamline = Str("beamline") ?? "mx",
            VisitDayRange = Int(path, "visit-day-range", Str("visit-day-range"), 200),
            KeyFile = PathValue("key-file"),
            Host = Str("host"),
            DestinationRootPath = PathValue("destination-root-path"),
            SyncFrequencyHours = Double(path, "sync-frequency-hours", Str("sync-frequency-hours"), 24),
            MaxTasks = Math.Max(1, Int(path, "max-tasks", Str("max-tasks"), 1)),
            SshUser = Str("ssh-user") ?? DefaultSshUser,
            SshPort = Int(path, "ssh-port", Str("ssh-port"), 22),
            SourceRootPath = Str("source-root-path") ?? DefaultSourceRoot,
            KnownHostsFile = PathValue("known-hosts-file"),
            RsyncBandwidthLimit = Int(path, "rsync-bwlimit", Str("rsync-bwlimit"), 0),
            EmailTo = Str("epnalert-email-to"),
            EmailFrom = Str("epnalert-email-from"),
            SmtpHost = Str("epnalert-email-smtp"),
            SmtpPort = Int(path, "epnalert-email-smtp-port", Str("epnalert-email-smtp-port"), 25),
            SmtpSecurity = Str("epnalert-email-smtp-security") ?? "Auto",
            SmtpCaFile = PathValue("epnalert-email-smtp-ca-file"),
            SmtpUser = Str("epnalert-email-smtp-user"),
            SmtpPasswordFile = PathValue("epnalert-email-smtp-password-file"),
            Subject = Str("epnalert-email-subject") ?? DefaultSubject,
            TemplateFolder = PathValue("epnalert-template-folder"),
            TemplateText = Str("epnalert-template-text"),
            TemplateHtml = Str("epnalert-template-html"),
            ReportWithoutVisit = string.Equals(Str("epnalert-report-without-visit"), "true", StringComparison.OrdinalIgnoreCase),
        };
    }

    /// <summary>Unquoted YAML keys like 12282 or 012282 load as numbers in the original and never match: compare as digit strings.</summary>
    internal static string NormaliseKey(string key)
    {
        var k = key.Trim();
        return k.Length > 0 && k.All(char.IsAsciiDigit) ? k.TrimStart('0') is { Length: > 0 } t ? t : "0" : k;
    }

    private static string Resolve(string dir, string value)
    {
        var expanded = ConfigPaths.ExpandHome(value);
        return System.IO.Path.IsPathRooted(expanded) ? expanded : System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, expanded));
    }

    private static int Int(string path, string key, string? value, int fallback)
    {
        if (value is null) return fallback;
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)) return i;
        throw new HpcException("InvalidConfigValue", HpcErrorKind.InvalidData, $"'{path}': {key} must be a whole number, not '{value}'.", path);
    }

    private static double Double(string path, string key, string? value, double fallback)
    {
        if (value is null) return fallback;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0) return d;
        throw new HpcException("InvalidConfigValue", HpcErrorKind.InvalidData, $"'{path}': {key} must be a positive number, not '{value}'.", path);
    }

    /// <summary>Throws ConfigKeyMissing when a key an operation needs is absent.</summary>
    public string Require(string? value, string key) =>
        value ?? throw new HpcException("ConfigKeyMissing", HpcErrorKind.InvalidData, $"'{Path}' has no '{key}' (needed for this operation).", Path);

    /// <summary>Remote source folder of an EPN, e.g. /data/mx/12282a/.</summary>
    public string SourcePathFor(string epn) =>
        SourceRootPath.Replace("{beamline}", Beamline, StringComparison.Ordinal).Replace("{epn}", epn, StringComparison.Ordinal);

    /// <summary>The remote folder that holds every EPN folder (for the alert listing): the source root up to {epn}.</summary>
    public string ListingRoot
    {
        get
        {
            var template = SourceRootPath;
            var at = template.IndexOf("{epn}", StringComparison.Ordinal);
            var head = at >= 0 ? template[..at] : template;
            head = head.Replace("{beamline}", Beamline, StringComparison.Ordinal);
            return head.EndsWith('/') ? head : head + "/";
        }
    }

    public string DestinationFor(string project, string epn) =>
        System.IO.Path.Combine(Require(DestinationRootPath, "destination-root-path"), project, epn, "data");
}
