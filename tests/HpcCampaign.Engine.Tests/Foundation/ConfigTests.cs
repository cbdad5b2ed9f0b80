using HpcCampaign.Engine.Config;

namespace HpcCampaign.Tests.Foundation;

public class ConfigTests
{
    [Fact]
    public void ReadsTheOriginalConfigYaml()
    {
        var path = Path.Combine(TestEnv.NewTempDir(), "config.yaml");
        File.WriteAllText(path, "Campaign:\n  hostname: OLCF\n  campaignstorepath: ~/store\n  cachepath: /tmp/cache\n  verbose: 2\n");
        var c = CampaignConfig.Load(path);
        Assert.Equal("OLCF", c.HostName);
        Assert.Equal(Path.Combine(ConfigPaths.Home, "store"), c.CampaignStorePath);
        Assert.Equal("/tmp/cache", c.CachePath);
        Assert.Equal(2, c.Verbose);
    }

    [Fact]
    public void MissingConfigIsEmptyNotAnError()
    {
        var c = CampaignConfig.Load("/nonexistent/config.yaml");
        Assert.Null(c.HostName);
        Assert.Null(c.CampaignStorePath);
    }

    [Fact]
    public void ReadsHostsYamlWithLocalAliasesAndServices()
    {
        var path = Path.Combine(TestEnv.NewTempDir(), "hosts.yaml");
        File.WriteAllText(path, """
            version: v0.1
            laptop: local
            OLCF:
              frontier-ssh:
                protocol: ssh
                host: frontier.olcf.ornl.gov
                user: alice
                authentication: passcode
                serverpath: ~/dataserver -background -report_port_selection
                port: 22
              s3store:
                protocol: s3
                endpoint: https://s3.example.org
            ORNL: OLCF
            """);
        var hosts = HostsConfig.Load(path);
        Assert.Equal(3, hosts.Hosts.Count);
        Assert.Equal("Local", hosts.Find("laptop")!.Kind);
        var olcf = hosts.Resolve("ORNL")!;
        Assert.Equal("OLCF", olcf.Name);
        Assert.Equal(new[] { "frontier-ssh", "s3store" }, olcf.Services.Select(s => s.Name));
        Assert.Equal("ssh", olcf.Services[0].Protocol);
        Assert.Equal(22, olcf.Services[0].Port);
        Assert.Equal("https://s3.example.org", olcf.Services[1].Endpoint);
        Assert.Null(hosts.Resolve("nowhere"));
    }

    [Theory]
    [InlineData("A: B\nB: local\n", "not defined before it")]
    [InlineData("A: [1, 2]\n", "must be 'local'")]
    [InlineData("A: {unclosed\n", "not valid YAML")]
    public void BadHostsFilesAreClearErrors(string content, string why)
    {
        var path = Path.Combine(TestEnv.NewTempDir(), "hosts.yaml");
        File.WriteAllText(path, content);
        var ex = Assert.Throws<HpcException>(() => HostsConfig.Load(path));
        Assert.Contains(why, ex.Message);
        Assert.Equal(HpcErrorKind.InvalidData, ex.Kind);
    }

    [Fact]
    public void ConfigDirectoryFollowsTheOverrideVariable()
    {
        // read-only check of the rule; the variable itself is set by the test run for isolation
        var over = Environment.GetEnvironmentVariable(ConfigPaths.OverrideVariable);
        if (over is null) Assert.EndsWith(Path.Combine(".config", "hpc-campaign"), ConfigPaths.ConfigDirectory);
        else Assert.Equal(Path.GetFullPath(over), ConfigPaths.ConfigDirectory);
        Assert.Equal(Path.Combine(ConfigPaths.ConfigDirectory, "keys"), ConfigPaths.KeysDirectory);
    }
}
