using System.Management.Automation;
using System.Security;
using System.Security.Cryptography;
using HpcCampaign.Engine.Crypto;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Keys;

/// <summary>
/// <para type="synopsis">Checks a key file and, for a protected key, that the password unlocks it. Never prints the key.</para>
/// Returns a result with IsValid; a wrong password is IsValid = false, not an error. A file that is not a key
/// file is an error record (InvalidKeyFile).
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "CampaignKey", DefaultParameterSetName = PathSet)]
[OutputType(typeof(CampaignKeyTestResult))]
public sealed class TestCampaignKeyCommand : HpcCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = LiteralSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Password of a protected key; prompted when missing.</summary>
    [Parameter]
    public SecureString? Password { get; set; }

    protected override void ProcessRecord()
    {
        var literal = ParameterSetName == LiteralSet;
        foreach (var file in ResolveExistingPaths(literal ? LiteralPath : Path, literal))
        {
            KeyFile? key = null;
            if (!TryEngine(() => key = KeyFile.Load(file), file) || key is null) continue;
            if (!key.IsProtected)
            {
                WriteObject(new CampaignKeyTestResult(file, key.Id, false, true, "Key file is well formed (not password protected)."));
                continue;
            }
            var pw = SecureToUtf8(Password ?? PromptSecure($"Password for key {key.Id}"));
            RunWork((sink, _) =>
            {
                try
                {
                    var k = key.Unlock(pw);
                    CryptographicOperations.ZeroMemory(k);
                    sink.Output(new CampaignKeyTestResult(file, key.Id, true, true, "The password unlocks the key."));
                }
                catch (HpcException ex) when (ex.ErrorId is "WrongPassword" or "KeyPasswordRequired")
                {
                    sink.Output(new CampaignKeyTestResult(file, key.Id, true, false, ex.Message));
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(pw);
                }
                return Task.CompletedTask;
            }, file);
        }
    }
}
