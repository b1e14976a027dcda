namespace NewLlm.Training;

/// <summary>A trained model for a new vocabulary: every weight kept but the embedding's and the output layer's, which start as a new model's.</summary>
internal static class VocabularyLayers
{
    /// <summary>A copy of <paramref name="trained"/> for <paramref name="vocabularySize"/> ids, the vocabulary layers initialised from <paramref name="seed"/>.</summary>
    public static NewLlmModel Reinitialise(NewLlmModel trained, int vocabularySize, int seed)
    {
        NewLlmOptions options = trained.Options.Clone();
        options.VocabSize = vocabularySize;
        options.Seed = null;
        torch.random.manual_seed(seed);
        var model = new NewLlmModel(options);
        var weights = trained.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (torch.no_grad())
        {
            foreach ((string name, Parameter parameter) in model.named_parameters())
            {
                if (!name.StartsWith("token_embedding.", StringComparison.Ordinal) && !name.StartsWith("token_output.", StringComparison.Ordinal))
                {
                    parameter.copy_(weights[name]);
                }
            }
        }

        return model;
    }
}
