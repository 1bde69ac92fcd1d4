using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Provisioning;

namespace Passbox.Operator.Tests.Provisioning;

public sealed class ProvisionedServerTests
{
    /// <summary>
    /// An admin credential whose host was rewritten in another case (MySQL.Example.com to mysql.example.com) logs in to the
    /// same server: the user recorded there stays Passbox's. Taken for someone else's, deleting the credential with
    /// deletionPolicy Delete kept it ("drop it by hand"), and a password change at that moment ended in UserExists.
    /// </summary>
    [Fact]
    public void A_host_name_written_in_another_case_is_the_same_server()
    {
        var status = new ProvisioningStatus { User = "app", Server = "MySQL.Example.com:3306" };

        ProvisionedServer.Manages(status, "app", "mysql.example.com:3306").Should().BeTrue();
        ProvisionedServer.Manages(status, "app", "mysql.example.com:3307").Should().BeFalse("another port is another server");
        ProvisionedServer.Manages(status, "App", "mysql.example.com:3306").Should().BeFalse("MySQL user names are case-sensitive");
    }
}
