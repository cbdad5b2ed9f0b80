using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Adds images to a campaign archive: reference, stored bytes (-Store) or a thumbnail replica (-Thumbnail W,H).</para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "CampaignImage", SupportsShouldProcess = true)]
[OutputType(typeof(CampaignDataset))]
public sealed class AddCampaignImageCommand : AddCampaignItemCommandBase
{
    /// <summary>Embed the image bytes as they are, named &lt;W&gt;x&lt;H&gt;&lt;ext&gt;.</summary>
    [Parameter]
    public SwitchParameter Store { get; set; }

    /// <summary>Width and height the thumbnail must fit in (ignored with -Store, like the original).</summary>
    [Parameter]
    [ValidateCount(2, 2)]
    [ValidateRange(1, 65535)]
    public int[]? Thumbnail { get; set; }

    protected override CampaignItemKind Kind => CampaignItemKind.Image;

    protected override CampaignItemRequest Customize(CampaignItemRequest request) =>
        new()
        {
            SourcePath = request.SourcePath, ReplicaName = request.ReplicaName, Directory = request.Directory, DatasetName = request.DatasetName,
            Kind = request.Kind, RemoteModTime = request.RemoteModTime, Store = Store,
            ThumbnailWidth = Thumbnail is { Length: 2 } ? Thumbnail[0] : 0, ThumbnailHeight = Thumbnail is { Length: 2 } ? Thumbnail[1] : 0,
        };
}
