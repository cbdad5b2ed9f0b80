using System.Text;

namespace HpcCampaign.Tests;

/// <summary>
/// Builds a synchrotron test world: an EPN source tree readable by the sshd test user (the "SFTP host" side), a
/// destination root, an ignore.yml and a config.yml in the original mxsync key format pointing at the loopback
/// sshd and (optionally) a portal stand-in.
/// </summary>
public sealed class SynchrotronWorld
{
    public string Root { get; }
    public string SourceRoot => Path.Combine(Root, "sftp");
    public string DestinationRoot => Path.Combine(Root, "scratch");
    public string IgnorePath => Path.Combine(Root, "ignore.yml");
    public string ConfigPath => Path.Combine(Root, "config.yml");

    public SynchrotronWorld(string root)
    {
        Root = root;
        Directory.CreateDirectory(Path.Combine(SourceRoot, "mx"));
        Directory.CreateDirectory(DestinationRoot);
        File.WriteAllText(IgnorePath, "previouslySynched: []\n");
    }

    /// <summary>Creates an EPN folder on the source side: files with random content, an .info file and a hidden file.</summary>
    public string AddEpn(string epn, int files = 3, int size = 2000, int seed = 1)
    {
        var dir = Path.Combine(SourceRoot, "mx", epn);
        Directory.CreateDirectory(Path.Combine(dir, "frames"));
        var rnd = new Random(seed);
        for (var i = 0; i < files; i++)
        {
            var bytes = new byte[size + i];
            rnd.NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(dir, i % 2 == 0 ? $"file{i}.img" : Path.Combine("frames", $"frame{i}.cbf")), bytes);
        }
        File.WriteAllText(Path.Combine(dir, ".info"), $"epn: {epn}\n");
        File.WriteAllText(Path.Combine(dir, ".DS_Store"), "hidden");
        MakeWorldReadable(Root);
        return dir;
    }

    public static void MakeWorldReadable(string dir)
    {
        if (OperatingSystem.IsWindows()) return;
        var dirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead |
                      UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(dir, dirMode);
        foreach (var d in Directory.EnumerateDirectories(dir, "*", SearchOption.AllDirectories)) File.SetUnixFileMode(d, dirMode);
        foreach (var f in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
            File.SetUnixFileMode(f, File.GetUnixFileMode(f) | UnixFileMode.OtherRead | UnixFileMode.GroupRead);
    }

    /// <summary>Writes config.yml. Keys are those of the original config.yml plus ssh-user/ssh-port/source-root-path/known-hosts-file.</summary>
    public string WriteConfig(string? portalUrl = null, string? keyFile = null, int? sshPort = null, string? extra = null,
        string map = "  12282: ny79\n  \"12290\": ab12\n")
    {
        var sb = new StringBuilder();
        sb.Append("comment: test config\n");
        sb.Append("epn_cap_map:\n").Append(map);
        sb.Append($"ignore: {IgnorePath}\n");
        sb.Append("equipment:\n");
        sb.Append("- username: beamline-user\n  password: user-secret\n  client_name: hpcc-client\n  client_password: client-secret\n  id: 23\n");
        sb.Append("- username: beamline-user\n  password: user-secret\n  client_name: hpcc-client\n  client_password: client-secret\n  id: 24\n");
        sb.Append($"base-url: {portalUrl ?? "http://127.0.0.1:9"}\n");
        sb.Append("beamline: mx\n");
        sb.Append("visit-day-range: 30\n");
        sb.Append($"key-file: {keyFile ?? TestEnv.SshKey}\n");
        sb.Append($"host: {TestEnv.SshHost}\n");
        sb.Append($"destination-root-path: {DestinationRoot}\n");
        sb.Append("sync-frequency-hours: 6\n");
        sb.Append("max-tasks: 2\n");
        sb.Append("log-level: logging.INFO\n");
        sb.Append($"ssh-user: {TestEnv.SshUser}\n");
        sb.Append($"ssh-port: {sshPort ?? TestEnv.SshPort}\n");
        sb.Append($"source-root-path: {SourceRoot}/{{beamline}}/{{epn}}/\n");
        sb.Append($"known-hosts-file: {TestEnv.SshKnownHosts}\n");
        if (extra is not null) sb.Append(extra);
        File.WriteAllText(ConfigPath, sb.ToString());
        return ConfigPath;
    }

    public string Destination(string project, string epn) => Path.Combine(DestinationRoot, project, epn, "data");

    /// <summary>Relative paths and sizes of the regular files under a folder, sorted (dot-files other than .info excluded).</summary>
    public static List<string> Listing(string dir, bool includeHidden = false) =>
        !Directory.Exists(dir) ? new List<string>() :
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/'))
            .Where(r => includeHidden || r == ".info" || !r.Split('/').Any(part => part.StartsWith('.')))
            .Select(r => $"{r}:{new FileInfo(Path.Combine(dir, r)).Length}")
            .OrderBy(x => x, StringComparer.Ordinal).ToList();

    /// <summary>Newest Maildir message of a sink folder (new/), or null.</summary>
    public static string? NewestMail(string maildir) =>
        Directory.Exists(Path.Combine(maildir, "new"))
            ? Directory.GetFiles(Path.Combine(maildir, "new")).OrderBy(File.GetLastWriteTimeUtc).LastOrDefault()
            : null;
}
