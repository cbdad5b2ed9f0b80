namespace HpcCampaign.Engine.Config;

/// <summary>
/// Where HpcCampaign keeps configuration: $HPCCAMPAIGN_CONFIG_PATH, else $XDG_CONFIG_HOME/hpc-campaign, else
/// ~/.config/hpc-campaign (the original tool's folder, so its config.yaml, hosts.yaml and keys/ are shared);
/// %APPDATA%\hpc-campaign on Windows.
/// </summary>
public static class ConfigPaths
{
    public const string OverrideVariable = "HPCCAMPAIGN_CONFIG_PATH";

    public static string ConfigDirectory
    {
        get
        {
            var over = Environment.GetEnvironmentVariable(OverrideVariable);
            if (!string.IsNullOrWhiteSpace(over)) return Path.GetFullPath(ExpandHome(over));
            if (OperatingSystem.IsWindows())
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "hpc-campaign");
            var xdg = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
            var baseDir = string.IsNullOrWhiteSpace(xdg) ? Path.Combine(Home, ".config") : xdg;
            return Path.Combine(baseDir, "hpc-campaign");
        }
    }

    /// <summary>Cache/state folder (~/.cache/hpc-campaign, %LOCALAPPDATA%\hpc-campaign); follows the config override.</summary>
    public static string StateDirectory
    {
        get
        {
            var over = Environment.GetEnvironmentVariable(OverrideVariable);
            if (!string.IsNullOrWhiteSpace(over)) return Path.Combine(Path.GetFullPath(ExpandHome(over)), "state");
            if (OperatingSystem.IsWindows())
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "hpc-campaign");
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var baseDir = string.IsNullOrWhiteSpace(xdg) ? Path.Combine(Home, ".cache") : xdg;
            return Path.Combine(baseDir, "hpc-campaign");
        }
    }

    public static string ConfigFile => Path.Combine(ConfigDirectory, "config.yaml");
    public static string HostsFile => Path.Combine(ConfigDirectory, "hosts.yaml");
    public static string KeysDirectory => Path.Combine(ConfigDirectory, "keys");

    public static string Home => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>Expands a leading ~ the way the original tool's configuration values are expanded.</summary>
    public static string ExpandHome(string path)
    {
        if (path == "~") return Home;
        if (path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
            return Path.Combine(Home, path[2..]);
        return path;
    }
}
