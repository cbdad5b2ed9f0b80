using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Adds ADIOS2 BP4/BP5 folders and HDF5 files to a campaign archive with their embedded metadata.</para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "CampaignDataset", SupportsShouldProcess = true)]
[OutputType(typeof(CampaignDataset))]
public sealed class AddCampaignDatasetCommand : AddCampaignItemCommandBase
{
    /// <summary>For a remote host: the modification time to record (nothing can be read).</summary>
    [Parameter]
    public DateTimeOffset? ModifiedTime { get; set; }

    protected override CampaignItemKind Kind => CampaignItemKind.Dataset;
    protected override long RemoteModTime => ModifiedTime is { } t ? CampaignDb.ToNs(t.UtcDateTime) : 0;
}
