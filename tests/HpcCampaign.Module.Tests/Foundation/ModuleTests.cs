using System.Management.Automation;
using System.Runtime.Loader;
using System.Text.RegularExpressions;

namespace HpcCampaign.Tests.Foundation;

public class ModuleTests
{
    [Fact]
    public void ManifestExportsExactlyTheCmdletsTheAssemblyHasAndEachHasHelpAndOutputType()
    {
        using var s = new PsSession();
        var exported = s.Run("(Get-Command -Module HpcCampaign).Name").Output.Select(o => o.ToString()).OrderBy(x => x).ToList();
        var manifest = File.ReadAllText(Path.Combine(TestEnv.RepoRoot, "HpcCampaign.psd1"));
        var block = Regex.Match(manifest, @"CmdletsToExport\s*=\s*@\((.*?)\)", RegexOptions.Singleline).Groups[1].Value;
        var listed = Regex.Matches(block, @"'([A-Za-z]+-[A-Za-z]+)'").Select(m => m.Groups[1].Value).OrderBy(x => x).ToList();
        var inAssembly = s.Run("(Get-Module HpcCampaign).ImplementingAssembly.GetTypes() | Where-Object { $_.IsPublic -and $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false).Count -gt 0 } | ForEach-Object { $a = $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]; $a.VerbName + '-' + $a.NounName }")
            .Output.Select(o => o.ToString()).OrderBy(x => x).ToList();
        Assert.Equal(listed, exported);
        Assert.Equal(inAssembly, exported);
        foreach (var name in exported)
        {
            var page = Path.Combine(TestEnv.RepoRoot, "docs", "en-US", name + ".md");
            Assert.True(File.Exists(page), $"{name} has no help page {page}");
            var text = File.ReadAllText(page);
            Assert.Contains("## SYNOPSIS", text);
            Assert.Contains("## EXAMPLES", text);
            Assert.Matches(@"### Example 1", text);
            var synopsis = Regex.Replace(Regex.Match(text, @"## SYNOPSIS\s*\n(.+?)(\n\s*\n|\n##)", RegexOptions.Singleline).Groups[1].Value.Trim(), @"\s*\n\s*", " ");
            var help = s.Run($"$h = Get-Help {name}; $h.Synopsis; @($h.examples.example).Count");
            Assert.Equal(synopsis, help.Output[0].ToString());
            Assert.True((int)help.Output[1].BaseObject >= 1, $"{name}: Get-Help shows no example");
            var outputTypes = s.Run($"(Get-Command {name}).OutputType.Count").Output[0].BaseObject;
            Assert.True((int)outputTypes > 0, $"{name} has no [OutputType]");
        }
    }

    [Fact]
    public void ManifestHasExplicitEmptyExportsAndNeverShipsSma()
    {
        using var s = new PsSession();
        var r = s.Run("Test-ModuleManifest -Path $args[0] | ForEach-Object { $_.ExportedFunctions.Count; $_.ExportedAliases.Count; $_.ExportedVariables.Count }".Replace("$args[0]", $"'{Path.Combine(TestEnv.RepoRoot, "HpcCampaign.psd1")}'"));
        r.AssertNoErrors();
        Assert.Equal(new object[] { 0, 0, 0 }, r.Output.Select(o => o.BaseObject));
        var module = Path.Combine(TestEnv.RepoRoot, "module");
        Assert.Empty(Directory.GetFiles(module, "System.Management.Automation.dll", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(module, "HpcCampaign.Engine.dll")), "the engine must live in deps/, not next to the cmdlets");
        Assert.True(File.Exists(Path.Combine(module, "deps", "HpcCampaign.Engine.dll")));
    }

    [Fact]
    public void EngineAndItsYamlDotNetLoadInThePrivateContextEvenWhenAnotherVersionIsLoaded()
    {
        // an older YamlDotNet (13.7.1, this test project's) is loaded first, in the default context
        var old = typeof(YamlDotNet.Serialization.Deserializer).Assembly;
        Assert.Equal(13, old.GetName().Version!.Major);
        Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(old));

        var dir = TestEnv.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "hosts.yaml"), "here: local\nfar:\n  svc:\n    protocol: ssh\n    host: far.example.org\n");
        using var s = new PsSession();
        var r = s.Run($"Get-CampaignHost -HostsFile '{dir}/hosts.yaml'");
        r.AssertNoErrors();
        Assert.Equal(new[] { "here", "far" }, r.Output.Select(o => o.Properties["Name"].Value));

        var engine = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "HpcCampaign.Engine");
        Assert.Equal("HpcCampaign.Engine", AssemblyLoadContext.GetLoadContext(engine)!.Name);
        var yamls = AppDomain.CurrentDomain.GetAssemblies().Where(a => a.GetName().Name == "YamlDotNet").ToList();
        var ours = Assert.Single(yamls, a => AssemblyLoadContext.GetLoadContext(a)!.Name == "HpcCampaign.Engine");
        Assert.Equal(16, ours.GetName().Version!.Major);
        // our public types are shared with scripts: [HpcCampaign.CampaignHostInfo] resolves to the same type
        Assert.Equal("True", s.Run("$h = Get-CampaignHost -HostsFile '" + dir + "/hosts.yaml' -Name here; ($h -is [HpcCampaign.CampaignHostInfo]).ToString()").Output[0].ToString());
    }

    [Fact]
    public void NonFileSystemPathsAreRejectedWithAClearError()
    {
        using var s = new PsSession();
        var r = s.Run("Get-CampaignKey -Path Env:PATH");
        Assert.Empty(r.Output);
        Assert.Equal("NotFileSystemPath,HpcCampaign.Commands.Keys.GetCampaignKeyCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, r.Errors[0].CategoryInfo.Category);
    }

    [Fact]
    public void RelativePathsResolveAgainstThePowerShellLocationNotTheProcessDirectory()
    {
        var dir = TestEnv.NewTempDir();
        using var s = new PsSession();
        var r = s.Run($"$ExecutionContext.SessionState.Path.SetLocation('{dir}') | Out-Null; New-CampaignKey -Path rel.key -Note rel");
        r.AssertNoErrors();
        Assert.True(File.Exists(Path.Combine(dir, "rel.key")));
        Assert.Equal(Path.Combine(dir, "rel.key"), Assert.Single(r.Output).Properties["Path"].Value);
    }
}
