using HpcCampaign.Tests.Foundation;

namespace HpcCampaign.Tests.Campaign;

/// <summary>docs/quickstart.ps1 (the README's quick-start command) and the README tour run as written.</summary>
public sealed class CampaignQuickStartTests
{
    [Fact]
    public void QuickStartBuildsAndShowsACampaignArchive()
    {
        var (code, stdout, stderr) = HpccTests.Hpcc("-File", Path.Combine(TestEnv.RepoRoot, "docs", "quickstart.ps1"));
        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.Contains("ADIOS Campaign Archive, version 0.7", stdout);
        Assert.Matches(@"[0-9a-f]{32} TEXT\s+\S+ \S+\s+1 docs/secret\.txt", stdout);
        Assert.Matches(@"[0-9a-f]{32} ADIOS\s+\S+ \S+\s+1 sim/run1\.bp", stdout);
        Assert.Contains("secret-copy.txt", stdout);
    }

    [Fact]
    public void TheReadmeTourRuns()
    {
        var readme = File.ReadAllText(Path.Combine(TestEnv.RepoRoot, "README.md"));
        var section = readme[readme.IndexOf("### Campaign archives", StringComparison.Ordinal)..];
        var start = section.IndexOf("```powershell", StringComparison.Ordinal) + "```powershell".Length;
        var code = section[start..section.IndexOf("```", start, StringComparison.Ordinal)]
            .Replace("| Format-List", "| Out-Default");   // Format-* are not in the Core-only engine hpcc hosts
        var script = Path.Combine(TestEnv.NewTempDir(), "tour.ps1");
        File.WriteAllText(script, code);
        var (exit, stdout, stderr) = HpccTests.Hpcc("-File", script);
        Assert.Equal("", stderr);
        Assert.Equal(0, exit);
        Assert.Contains("What if: Performing the operation \"Remove (soft delete)\"", stdout);
        Assert.Contains("HPSS", stdout);
    }
}
