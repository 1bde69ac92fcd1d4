namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>
/// What <c>spec.endpoint.host</c> takes: a host name or IPv4 address, or an IPv6 address bare (<c>fd00::1</c>,
/// <c>::1</c>) or in brackets (<c>[fd00::1]</c>), the forms the connectors turn into <c>host:port</c>. A colon belongs
/// only in an IPv6 address, which always has two at least: so <c>host:port</c>, a URL or a stray bracket is refused
/// with a message that says where the port goes, instead of reaching a connector that cannot make an address of it.
/// </summary>
public static class EndpointHost
{
    /// <summary>
    /// Checked when the value is set or changed (<c>oldSelf</c> is empty on create): a credential stored before the rule
    /// existed stays updatable, so its finalizer can still be removed; its connector reports such a host as InvalidSpec.
    /// The backslashes are CEL string escapes: the regular expression sees <c>\[</c> and <c>\]</c>.
    /// </summary>
    public const string CelRule =
        @"(oldSelf.hasValue() && oldSelf.value() == self) || self.matches('^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*|\\[[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\\])$')";

    public const string CelMessage =
        "spec.endpoint.host must be a host name or an IP address without a port or scheme: put the port in spec.endpoint.port, " +
        "and write an IPv6 address bare (fd00::1) or in brackets ([fd00::1])";
}
