using System.Management.Automation;
using HpcCampaign.Engine.Campaign;
using HpcCampaign.Engine.Config;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Summarises campaign archives, or lists the archives of a campaign store.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "Campaign", DefaultParameterSetName = "Store")]
[OutputType(typeof(CampaignInfo))]
public sealed class GetCampaignCommand : CampaignCmdletBase
{
    /// <summary>Archive files (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path", ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "ArchivePath")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Campaign store folder to search recursively for .aca files (default: campaignstorepath of config.yaml, else the current location).</summary>
    [Parameter(ParameterSetName = "Store")]
    [ValidateNotNullOrEmpty]
    public string? Store { get; set; }

    /// <summary>Wildcard on the archive path relative to the store.</summary>
    [Parameter(ParameterSetName = "Store")]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "Path")
        {
            foreach (var p in ResolveExistingPaths(Path.Select(x => File.Exists(x) || x.Contains('*') || x.Contains('?') || !File.Exists(CampaignDb.WithExtension(x)) ? x : CampaignDb.WithExtension(x)), literal: false))
                TryEngine(() => WriteObject(CampaignReader.Summary(p)), p);
            return;
        }
        string? store = Store is not null ? ResolveOutputPath(Store) : null;
        if (Store is null)
        {
            try { store = CampaignConfig.Load().CampaignStorePath; }
            catch (HpcException ex) { WriteHpcError(ex); }
            store ??= CurrentFileSystemLocation;
        }
        if (store is null) return;
        TryEngine(() =>
        {
            foreach (var file in CampaignReader.ListStore(store, Name))
            {
                try { WriteObject(CampaignReader.Summary(file)); }
                catch (HpcException ex) { WriteHpcError(ex); }
            }
        }, store);
    }
}
