using System.Management.Automation;
using System.Security;
using System.Security.Cryptography;
using HpcCampaign.Engine.Crypto;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Keys;

/// <summary>
/// <para type="synopsis">Creates a campaign key file (byte-compatible with hpc-campaign genkey).</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "CampaignKey", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(CampaignKeyInfo))]
public sealed class NewCampaignKeyCommand : HpcCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter]
    public string Note { get; set; } = "";

    /// <summary>Protect the key with this password (Argon2i). With -Protect and no -Password the host prompts.</summary>
    [Parameter]
    public SecureString? Password { get; set; }

    [Parameter]
    public SwitchParameter Protect { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        var target = ResolveOutputPath(Path);
        if (target is null) return;
        if (File.Exists(target) && !Force)
        {
            WriteHpcError(new HpcException("KeyFileExists", HpcErrorKind.ResourceExists,
                $"Key file '{target}' already exists; use -Force to replace it (the old key is then lost).", target));
            return;
        }
        if (Directory.Exists(target))
        {
            WriteHpcError(new HpcException("KeyPathIsDirectory", HpcErrorKind.InvalidArgument, $"'{target}' is a directory.", target));
            return;
        }
        if (!ShouldProcess(target, "Create campaign key file")) return;

        var password = Password;
        if (password is null && Protect)
        {
            password = PromptSecure("Password for the new key");
            using var again = PromptSecure("Repeat the password");
            var a = SecureToUtf8(password);
            var b = SecureToUtf8(again);
            var same = CryptographicOperations.FixedTimeEquals(a, b);
            CryptographicOperations.ZeroMemory(a);
            CryptographicOperations.ZeroMemory(b);
            if (!same)
            {
                WriteHpcError(new HpcException("PasswordMismatch", HpcErrorKind.InvalidArgument, "The two passwords differ; no key file was written.", target));
                return;
            }
        }
        var pw = SecureToUtf8(password);
        RunWork((sink, _) =>
        {
            try
            {
                var key = KeyFile.Create(target, Note, pw, Force);
                sink.Output(key.ToInfo());
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pw);
            }
            return Task.CompletedTask;
        }, target);
    }
}
