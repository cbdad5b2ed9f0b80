using System.Management.Automation;
using System.Security;
using System.Security.Cryptography;
using HpcCampaign.Engine.Crypto;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Keys;

/// <summary>
/// <para type="synopsis">Checks key files and, for protected keys, that the password unlocks them. Never prints a key.</para>
/// Returns one result per key with IsValid; a wrong password is IsValid = false, not an error. A file that is not a
/// key file is an error record (InvalidKeyFile). Unlocking a protected key costs Argon2i with 512 MiB (about a
/// second): -AsJob checks many keys in the background.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "CampaignKey", DefaultParameterSetName = PathSet)]
[OutputType(typeof(CampaignKeyTestResult), typeof(HpcJob))]
public sealed class TestCampaignKeyCommand : HpcCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";
    private readonly List<KeyFile> _keys = new();

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = LiteralSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Password of the protected keys; prompted once when missing.</summary>
    [Parameter]
    public SecureString? Password { get; set; }

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        var literal = ParameterSetName == LiteralSet;
        foreach (var file in ResolveExistingPaths(literal ? LiteralPath : Path, literal))
        {
            KeyFile? key = null;
            if (TryEngine(() => key = KeyFile.Load(file), file) && key is not null) _keys.Add(key);
        }
    }

    protected override void EndProcessing()
    {
        if (_keys.Count == 0) return;
        var password = Password;
        if (password is null && _keys.Any(k => k.IsProtected))
            password = PromptSecure("Password for the protected key(s)");
        var pw = SecureToUtf8(password);
        var keys = _keys.ToArray();
        RunOrStartJob(AsJob, Environment.MachineName, (sink, ct) =>
        {
            try
            {
                foreach (var key in keys)
                {
                    ct.ThrowIfCancellationRequested();
                    sink.Output(Check(key, pw));
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pw);
            }
            return Task.CompletedTask;
        });
    }

    private static CampaignKeyTestResult Check(KeyFile key, byte[] password)
    {
        if (!key.IsProtected)
            return new CampaignKeyTestResult(key.Path, key.Id, false, true, "Key file is well formed (not password protected).");
        try
        {
            var k = key.Unlock(password);
            CryptographicOperations.ZeroMemory(k);
            return new CampaignKeyTestResult(key.Path, key.Id, true, true, "The password unlocks the key.");
        }
        catch (HpcException ex) when (ex.ErrorId is "WrongPassword" or "KeyPasswordRequired")
        {
            return new CampaignKeyTestResult(key.Path, key.Id, true, false, ex.Message);
        }
    }
}
