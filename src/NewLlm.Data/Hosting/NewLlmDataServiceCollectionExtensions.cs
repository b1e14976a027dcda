using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace NewLlm.Data;

/// <summary>Registers NewLlm.Data's options and Hub client with a host's services.</summary>
public static class NewLlmDataServiceCollectionExtensions
{
    /// <summary>The name of the <see cref="HttpClient"/> that <see cref="IHttpClientFactory"/> makes for <see cref="HuggingFaceHubDownloader"/>.</summary>
    public const string HubHttpClientName = "NewLlm.HuggingFaceHub";

    /// <summary>
    /// Registers <see cref="HuggingFaceHubOptions"/> (section <c>Hub</c> of <paramref name="configuration"/>, over the
    /// <c>HF_*</c> environment variables read by <see cref="HuggingFaceHubOptions.ReadEnvironment"/>),
    /// <see cref="TokenizedCorpusOptions"/> (section <c>Corpus</c>) and <see cref="DialogueCorpusOptions"/> (section
    /// <c>DialogueCorpus</c>), each checked by its validator when the host starts; and a transient
    /// <see cref="HuggingFaceHubDownloader"/> whose <see cref="HttpClient"/> comes from <see cref="IHttpClientFactory"/>
    /// (the named client <see cref="HubHttpClientName"/>, which an application may configure further).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The NewLlm section, for example <c>configuration.GetSection("NewLlm")</c>.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddNewLlmData(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services
            .AddValidatedOptions<HuggingFaceHubOptions, HuggingFaceHubOptionsValidator>(configuration.GetSection("Hub"), o => o.ReadEnvironment())
            .AddValidatedOptions<TokenizedCorpusOptions, TokenizedCorpusOptionsValidator>(configuration.GetSection("Corpus"))
            .AddValidatedOptions<DialogueCorpusOptions, DialogueCorpusOptionsValidator>(configuration.GetSection("DialogueCorpus"))
            .AddHttpClient(HubHttpClientName)
            .ConfigurePrimaryHttpMessageHandler(HuggingFaceHubDownloader.CreateHandler)
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.TryAddTransient(provider => new HuggingFaceHubDownloader(
            provider.GetRequiredService<IOptions<HuggingFaceHubOptions>>().Value,
            provider.GetRequiredService<IHttpClientFactory>().CreateClient(HubHttpClientName),
            provider.GetService<ILogger<HuggingFaceHubDownloader>>()));
        return services;
    }
}
