export declare const DEMO_API_KEY: string;
