namespace Passbox.Operator.Connectors;

/// <summary>How a connector uses TLS. Names follow MySQL's ssl-mode.</summary>
public enum TlsMode
{
    /// <summary>Plain TCP only.</summary>
    Disabled,

    /// <summary>TLS when the server offers it, without checking the certificate; plain otherwise.</summary>
    Preferred,

    /// <summary>TLS or fail, without checking the certificate.</summary>
    Required,

    /// <summary>TLS with a certificate issued by a trusted CA; the host name is not checked.</summary>
    VerifyCA,

    /// <summary>TLS with a certificate issued by a trusted CA and naming the host.</summary>
    VerifyFull,
}
