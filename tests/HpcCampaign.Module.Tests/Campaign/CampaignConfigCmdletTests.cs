namespace HpcCampaign.Tests.Campaign;

[CollectionDefinition("CampaignConfigFiles", DisableParallelization = true)]
public sealed class CampaignConfigFilesCollection { }

/// <summary>Tests that write config.yaml/hosts.yaml into the shared test config folder: run alone, files removed after.</summary>
[Collection("CampaignConfigFiles")]
public sealed class CampaignConfigCmdletTests
{
    [Fact]
    public void CampaignStoreAndHostsYamlAreHonoured()
    {
        var store = TestEnv.NewTempDir();
        var work = TestEnv.NewTempDir();
        var config = Path.Combine(TestSetup.ConfigDir, "config.yaml");
        var hosts = Path.Combine(TestSetup.ConfigDir, "hosts.yaml");
        File.WriteAllText(config, $"Campaign:\n  hostname: labhost\n  campaignstorepath: {store}\n");
        File.WriteAllText(hosts, "bucket:\n  s3:\n    protocol: s3\n    endpoint: https://s3.example.org\n");
        try
        {
            File.WriteAllText(Path.Combine(work, "a.txt"), "a");
            using var s = new PsSession();
            var r = s.Run($"""
                $ExecutionContext.SessionState.Path.SetLocation('{work}') | Out-Null
                New-Campaign '{store}/in-store.aca' | Out-Null
                Add-CampaignText in-store a.txt
                Get-Campaign -Name 'in-*'
                """);
            r.AssertNoErrors();
            Assert.Equal(Path.Combine(store, "in-store.aca"), Assert.Single(r.Output).Properties["Path"].Value);
            Assert.Equal(1, r.Output[0].Properties["DatasetCount"].Value);
            Assert.Equal("labhost (" , ((IEnumerable<string>)r.Output[0].Properties["Hosts"].Value!).Single()[..9]);
            Assert.False(File.Exists(Path.Combine(work, "in-store.aca")));

            var noBucket = s.Run("Add-CampaignDataset s3.aca runs/x.bp -HostName bucket");
            Assert.Equal("S3BucketRequired,HpcCampaign.Commands.Campaign.AddCampaignDatasetCommand", Assert.Single(noBucket.Errors).FullyQualifiedErrorId);
            Assert.False(File.Exists(Path.Combine(work, "s3.aca")));
            var s3 = s.Run("Add-CampaignDataset s3.aca runs/x.bp -HostName bucket -Directory campaign-bucket -PassThru");
            s3.AssertNoErrors();
            var replica = ((System.Collections.IEnumerable)s3.Output.Single().Properties["Replicas"].Value!).Cast<object>().Single();
            var rp = System.Management.Automation.PSObject.AsPSObject(replica);
            Assert.Equal("https://s3.example.org", rp.Properties["LongHostName"].Value);
            Assert.Equal("campaign-bucket", rp.Properties["Directory"].Value);
            Assert.Equal(0L, rp.Properties["Size"].Value);
        }
        finally
        {
            File.Delete(config);
            File.Delete(hosts);
        }
    }
}
