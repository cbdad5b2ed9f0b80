using System.Management.Automation;
using System.Security;
using System.Security.Cryptography;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Writes embedded files of a campaign archive out: decrypted with the key, inflated, SHA-1 verified.</para>
/// </summary>
[Cmdlet(VerbsData.Export, "CampaignFile", SupportsShouldProcess = true)]
[OutputType(typeof(CampaignExportedFile))]
public sealed class ExportCampaignFileCommand : CampaignCmdletBase
{
    private (byte[] Key, string Id)? _key;
    private bool _keyFailed;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ArchivePath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    public long[] FileId { get; set; } = Array.Empty<long>();

    /// <summary>Folder to write into (the embedded file name is used), or a file name for a single file. Default: the current location.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Key { get; set; }

    [Parameter]
    public SecureString? Password { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void BeginProcessing()
    {
        if (Key is null) return;
        _key = LoadKey(Key, Password);
        _keyFailed = _key is null;
    }

    protected override void ProcessRecord()
    {
        if (_keyFailed) return;
        var archive = ResolveArchive(Path, mustExist: true);
        if (archive is null) return;
        var dest = ResolveOutputPath(Destination ?? CurrentFileSystemLocation);
        if (dest is null) return;
        foreach (var id in FileId)
        {
            string? name = null;
            if (!TryEngine(() => name = CampaignEdit.FileName(archive, id), archive)) continue;
            var intoFolder = System.IO.Directory.Exists(dest);
            if (intoFolder && (name!.Contains('/') || name.Contains('\\') || name is "." or ".."))
            {
                WriteHpcError(new HpcException("UnsafeFileName", HpcErrorKind.InvalidData,
                    $"Embedded file {id} has the unsafe name '{name}'; give -Destination as a file name.", id));
                continue;
            }
            var target = intoFolder ? System.IO.Path.Combine(dest, name!) : dest;
            if (!ShouldProcess(target, $"Export embedded file {id} ({name})")) continue;
            TryEngine(() => WriteObject(CampaignEdit.Export(archive, id, target, _key?.Key, _key?.Id, Force)), $"{archive}#{id}");
        }
    }

    protected override void EndProcessing()
    {
        if (_key is { } k) CryptographicOperations.ZeroMemory(k.Key);
    }
}
