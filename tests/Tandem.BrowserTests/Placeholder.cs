namespace Tandem.BrowserTests;
