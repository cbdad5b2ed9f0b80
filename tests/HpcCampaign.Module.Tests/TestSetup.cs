using System.Runtime.CompilerServices;

namespace HpcCampaign.Tests;

internal static class TestSetup
{
    /// <summary>The module's configuration folder for this test run: never the real ~/.config/hpc-campaign.</summary>
    public static readonly string ConfigDir = Path.Combine(TestEnv.RepoRoot, "tests", ".work", "module-config-" + Guid.NewGuid().ToString("N")[..8]);

    [ModuleInitializer]
    internal static void Init()
    {
        Directory.CreateDirectory(ConfigDir);
        Environment.SetEnvironmentVariable("HPCCAMPAIGN_CONFIG_PATH", ConfigDir);
    }

    /// <summary>A SecureString from plain text (ConvertTo-SecureString is not in the Core-only engine).</summary>
    public static System.Security.SecureString Secure(string s) => new System.Net.NetworkCredential("", s).SecurePassword;
}
