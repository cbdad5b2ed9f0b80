using System.Management.Automation;
using HpcCampaign.Engine.Synchrotron;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Synchrotron;

/// <summary>
/// <para type="synopsis">E-mails the help desk about EPN folders on the SFTP host that no project claims (epnalert).</para>
/// Lists the beamline folder on the SFTP host, keeps EPNs whose number is not in epn_cap_map, adds the portal visit
/// details, renders the text and HTML templates (variables epn_details and unknown_epns) and sends a
/// multipart/alternative mail over SMTP (STARTTLS and login when configured). As in the original, the mail goes out
/// only when an unmapped EPN had a visit in the look-back window (-Force sends anyway). -WhatIf renders but does not send.
/// </summary>
[Cmdlet(VerbsCommunications.Send, "SynchrotronEpnAlert", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SynchrotronAlertResult))]
public sealed class SendSynchrotronEpnAlertCommand : HpcCmdlet
{
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>SMTP login (default: epnalert-email-smtp-user and -password-file of the config, else none).</summary>
    [Parameter]
    [Credential]
    public PSCredential? SmtpCredential { get; set; }

    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter]
    [Credential]
    public PSCredential? ClientCredential { get; set; }

    /// <summary>Send even when no unmapped EPN has a visit in the look-back window.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        var config = SynchrotronCommon.LoadConfig(new HpcCmdletAccess(ResolveOutputPath, Fail), ConfigPath);
        var to = config.EmailTo ?? "(epnalert-email-to missing)";
        var send = ShouldProcess(to, $"Send '{config.Subject}' via {config.SmtpHost}:{config.SmtpPort}");
        if (!send && !SynchrotronCommon.WhatIfActive(this)) return;
        var finder = SynchrotronCommon.Finder(config, SynchrotronCommon.Http, Credential, ClientCredential);
        var credential = SmtpCredential?.GetNetworkCredential();
        var force = Force.IsPresent;
        RunWork(async (sink, ct) =>
        {
            var result = await new EpnAlert(config).RunAsync(finder, credential, send, force, sink, ct).ConfigureAwait(false);
            sink.Output(result);
        }, config.Path);
    }
}
