export declare const DEMO_API_KEY: string;
export declare const DEMO_ADMIN_TOKEN: string;
