[assembly: AssemblyFixture(typeof(Tandem.BrowserTests.BrowserHost))]
