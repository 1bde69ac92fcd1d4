using System.Diagnostics.CodeAnalysis;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>
/// Checks the server certificate and remembers, in words, why it was refused, so a TLS failure
/// can say what failed instead of "the SSL connection could not be established".
/// </summary>
internal sealed class TlsVerifier : IDisposable
{
    private readonly X509Certificate2Collection? customRoots;
    private readonly string? serverName;
    private readonly string trustSource;
    private readonly bool ownsRoots;
    private readonly string? untrustedAdvice;

    private TlsVerifier(X509Certificate2Collection? customRoots, string? serverName, bool skipVerify, string trustSource,
        bool ownsRoots = false, string? untrustedAdvice = null)
    {
        this.customRoots = customRoots;
        this.ownsRoots = ownsRoots;
        this.untrustedAdvice = untrustedAdvice;
        this.serverName = serverName;
        SkipVerify = skipVerify;
        this.trustSource = trustSource;
    }

    /// <summary>
    /// Trust the system's certificate authorities. <paramref name="untrustedAdvice"/> says how to name another CA, for a
    /// certificate none of them signed (an in-house CA is the usual cause, and the fix is the user's).
    /// </summary>
    public static TlsVerifier System(string? untrustedAdvice = null) =>
        new(null, null, false, "the system's certificate authorities", untrustedAdvice: untrustedAdvice);

    /// <summary>Trust only <paramref name="roots"/>; check the name against <paramref name="serverName"/> when given.</summary>
    public static TlsVerifier Custom(X509Certificate2Collection? roots, string? serverName, string trustSource, string? untrustedAdvice = null) =>
        new(roots, serverName, false, trustSource, untrustedAdvice: untrustedAdvice);

    /// <summary>
    /// For a git server or registry: the CA certificates of <paramref name="request"/> when it gives some (this verifier then
    /// owns them), else the system's. False, with <paramref name="refusal"/> saying why, when the PEM holds no certificate.
    /// </summary>
    public static bool TryForServer(PipelineProbeRequest request,
        [NotNullWhen(true)] out TlsVerifier? verifier, [NotNullWhen(false)] out ValidationOutcome? refusal)
    {
        ArgumentNullException.ThrowIfNull(request);
        verifier = null;
        refusal = null;
        if (request.CaCertificates is null)
        {
            verifier = System("if an in-house CA signed it, name that CA in spec.tls.caSecretRef");
            return true;
        }

        var source = request.CaSource ?? "the CA Secret";
        var roots = new X509Certificate2Collection();
        string? error = null;
        try
        {
            roots.ImportFromPem(request.CaCertificates);
        }
        catch (CryptographicException)
        {
            // The exception's text is left out: nothing of the Secret's content goes into a message.
            error = "is not valid PEM";
        }

        if (error is null && roots.Count == 0)
        {
            error = "holds no certificate (expected -----BEGIN CERTIFICATE-----)";
        }

        if (error is not null)
        {
            foreach (var root in roots)
            {
                root.Dispose();
            }

            refusal = ValidationOutcome.Failure(ValidationReasons.TLSFailed,
                $"cannot check the server certificate: the CA certificate in {source} {error}; store the CA as PEM there (spec.tls.caSecretRef)");
            return false;
        }

        verifier = new TlsVerifier(roots, null, false, $"the CA in {source}", ownsRoots: true);
        return true;
    }

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

    public void Dispose()
    {
        if (!ownsRoots || customRoots is null)
        {
            return;
        }

        foreach (var root in customRoots)
        {
            root.Dispose();
        }
    }

    private string DescribeChain(X509ChainStatus[] statuses)
    {
        var flags = statuses.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        var parts = new List<string>();
        if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
        {
            parts.Add(untrustedAdvice is null
                ? $"the server certificate is not signed by {trustSource}"
                : $"the server certificate is not signed by {trustSource} ({untrustedAdvice})");
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
