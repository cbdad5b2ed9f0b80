using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Adds text files to a campaign archive, as references or (-Store) zlib-compressed copies.</para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "CampaignText", SupportsShouldProcess = true)]
[OutputType(typeof(CampaignDataset))]
public sealed class AddCampaignTextCommand : AddCampaignItemCommandBase
{
    /// <summary>Embed the text (zlib); without it only a reference is recorded.</summary>
    [Parameter]
    public SwitchParameter Store { get; set; }

    protected override CampaignItemKind Kind => CampaignItemKind.Text;

    protected override CampaignItemRequest Customize(CampaignItemRequest request) =>
        new()
        {
            SourcePath = request.SourcePath, ReplicaName = request.ReplicaName, Directory = request.Directory, DatasetName = request.DatasetName,
            Kind = request.Kind, RemoteModTime = request.RemoteModTime, Store = Store,
        };
}
