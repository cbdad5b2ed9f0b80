using System.Diagnostics;

namespace HpcCampaign.Tests.Foundation;

/// <summary>The hpcc console host as a real process, the way users and scheduled tasks run it.</summary>
public class HpccTests
{
    public static (int Code, string Out, string Err) Hpcc(params string[] args)
    {
        var dll = Directory.GetFiles(Path.Combine(TestEnv.RepoRoot, "src", "HpcCampaign.Host", "bin"), "hpcc.dll", SearchOption.AllDirectories)
            .OrderByDescending(File.GetLastWriteTimeUtc).First();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["HPCCAMPAIGN_CONFIG_PATH"] = TestSetup.ConfigDir;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "hpcc did not exit");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void CommandRendersFormatViewsOnStdoutWithoutColourCodes()
    {
        var (code, stdout, stderr) = Hpcc("-Command", $"Get-CampaignKey -LiteralPath '{Path.Combine(TestEnv.Fixtures, "campaign", "demo.key")}'");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Matches(@"Id\s+Protected\s+Created\s+Note", stdout);
        Assert.Contains("9d137a56f6884765942bfd88a47063ab", stdout);
        Assert.DoesNotContain("\u001b[", stdout);
    }

    [Fact]
    public void ErrorsGoToStderrAndExitCodeIsOne()
    {
        var (code, stdout, stderr) = Hpcc("-Command", "Get-CampaignKey -LiteralPath /nonexistent/x.key");
        Assert.Equal(1, code);
        Assert.Equal("", stdout.Trim());
        Assert.Contains("does not exist", stderr);
    }

    [Fact]
    public void ExitNIsTheProcessExitCode()
    {
        Assert.Equal(7, Hpcc("-Command", "exit 7").Code);
    }

    [Fact]
    public void FileRunsAScriptWithArguments()
    {
        var script = Path.Combine(TestEnv.NewTempDir(), "s.ps1");
        File.WriteAllText(script, "param($a, $b)\n\"got $a and $b\"\n(Get-Command New-CampaignKey).Name\n");
        var (code, stdout, _) = Hpcc("-File", script, "x1", "y2");
        Assert.Equal(0, code);
        Assert.Contains("got x1 and y2", stdout);
        Assert.Contains("New-CampaignKey", stdout);
    }
}
