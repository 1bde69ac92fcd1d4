using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>
/// Checks the server certificate and remembers, in words, why it was refused, so a TLS failure
/// can say what failed instead of "the SSL connection could not be established".
/// </summary>
internal sealed class TlsVerifier
{
    private readonly X509Certificate2Collection? customRoots;
    private readonly string? serverName;
    private readonly string trustSource;

    private TlsVerifier(X509Certificate2Collection? customRoots, string? serverName, bool skipVerify, string trustSource)
    {
        this.customRoots = customRoots;
        this.serverName = serverName;
        SkipVerify = skipVerify;
        this.trustSource = trustSource;
    }

    /// <summary>Trust the system's certificate authorities.</summary>
    public static TlsVerifier System() => new(null, null, false, "the system's certificate authorities");

    /// <summary>Trust only <paramref name="roots"/>; check the name against <paramref name="serverName"/> when given.</summary>
    public static TlsVerifier Custom(X509Certificate2Collection? roots, string? serverName, string trustSource) =>
        new(roots, serverName, false, trustSource);

    /// <summary>Accept any certificate: only when the user explicitly asked for it.</summary>
    public static TlsVerifier Insecure() => new(null, null, true, "nothing (verification skipped)");

    public bool SkipVerify { get; }

    /// <summary>Why the last certificate was refused; null when none was.</summary>
    public string? Failure { get; private set; }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (SkipVerify)
        {
            return true;
        }

        var host = serverName ?? (sender as SslStream)?.TargetHostName ?? "the server";
        if (certificate is null)
        {
            Failure = $"the server sent no certificate for {host}";
            return false;
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var problems = new List<string>();
        var nameMismatch = serverName is null
            ? errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
            : !leaf.MatchesHostname(serverName);
        if (nameMismatch)
        {
            problems.Add($"the server certificate is not valid for host {host}");
        }

        if (customRoots is null)
        {
            if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
            {
                problems.Add(DescribeChain(chain?.ChainStatus ?? []));
            }
        }
        else
        {
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            custom.ChainPolicy.CustomTrustStore.AddRange(customRoots);
            if (chain is not null)
            {
                custom.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
                foreach (var element in chain.ChainElements)
                {
                    custom.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            if (!custom.Build(leaf))
            {
                problems.Add(DescribeChain(custom.ChainStatus));
            }
        }

        Failure = problems.Count == 0 ? null : string.Join("; ", problems);
        return problems.Count == 0;
    }

    private string DescribeChain(X509ChainStatus[] statuses)
    {
        var flags = statuses.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        var parts = new List<string>();
        if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
        {
            parts.Add($"the server certificate is not signed by {trustSource}");
        }

        if (flags.HasFlag(X509ChainStatusFlags.NotTimeValid))
        {
            parts.Add("the server certificate has expired or is not yet valid");
        }

        var rest = flags & ~(X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotTimeValid);
        if (rest != X509ChainStatusFlags.NoError || parts.Count == 0)
        {
            parts.Add($"the server certificate chain is invalid ({rest})");
        }

        return string.Join("; ", parts);
    }
}
